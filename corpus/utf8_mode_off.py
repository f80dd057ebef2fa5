# Checks PYTHONUTF8=0 with LC_ALL=C: ASCII streams, surrogateescape, and an UnicodeEncodeError on print.
# corpus: env = {"LC_ALL": "C", "PYTHONUTF8": "0"}
import sys

print("utf8_mode:", sys.flags.utf8_mode)
print("stdout:", sys.stdout.encoding, sys.stdout.errors)
print("argv and fs:", sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
sys.stdout.flush()
print("non-ascii: é")
