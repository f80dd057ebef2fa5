# Checks a UTF-8 source file that starts with a byte order mark (BOM).
import sys

s = "bom file: é✓"
print(s, len(s))
with open(__file__, "rb") as f:
    print(f.read(3))
print(sys.argv)
