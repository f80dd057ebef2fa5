# Checks encoding errors on the streams: lone surrogates are backslash-escaped on stderr but fail on stdout.
import sys

print("ascii ok, unicode ok: é ✓ 😀")
print("surrogates on stderr:", "\udcff", "\ud800", file=sys.stderr)
print("surrogateescape-able on stdout:", "\udcff")
sys.stdout.flush()
print("not encodable on stdout:", "\ud800")
