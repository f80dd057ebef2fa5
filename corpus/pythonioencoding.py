# Checks PYTHONIOENCODING=latin-1:replace: unencodable characters on stdout become '?'.
# corpus: env = {"PYTHONIOENCODING": "latin-1:replace"}
import sys

print(sys.stdout.encoding, sys.stdout.errors, sys.stdin.encoding, sys.stderr.encoding, sys.stderr.errors)
print("latin-1: café, not latin-1: ✓ 日本")
print("stderr: ✓", file=sys.stderr)
