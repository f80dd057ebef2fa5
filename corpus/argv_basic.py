# Checks sys.argv: script path as given, args with spaces, unicode, empty strings and leading dashes.
# corpus: run = ["argv_basic.py", "a", "b c", "--flag", "-x", "-", "--", "héllo wörld", "", "日本語", "-m", "x=1"]
import sys

print(len(sys.argv))
for i, arg in enumerate(sys.argv):
    print(i, repr(arg), len(arg))
print(sys.argv[0] == "argv_basic.py")
