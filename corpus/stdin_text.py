# Checks text-mode sys.stdin: universal newlines (CRLF/CR -> LF), iteration, encoding and errors.
# corpus: stdin = "first\r\nsecond\rthird\nfourth é\n"
import sys

print(sys.stdin.encoding, sys.stdin.errors, repr(sys.stdin.newlines))
first = sys.stdin.readline()
print(repr(first))
rest = list(sys.stdin)
print(rest)
print(repr(sys.stdin.newlines))
