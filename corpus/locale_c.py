# Checks the C locale (LC_ALL=C): UTF-8 mode / locale coercion decisions and the resulting encodings.
# corpus: env = {"LC_ALL": "C", "LANG": "C"}
import locale
import os
import sys

print("utf8_mode:", sys.flags.utf8_mode)
print("stdout:", sys.stdout.encoding, sys.stdout.errors)
print("stdin:", sys.stdin.encoding, sys.stdin.errors)
print("stderr:", sys.stderr.encoding, sys.stderr.errors)
print("fs:", sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
print("preferred:", locale.getpreferredencoding(False), locale.getencoding())
print("LC_CTYPE env:", os.environ.get("LC_CTYPE"))
print("setlocale:", locale.setlocale(locale.LC_CTYPE))
print("text: é ✓")
