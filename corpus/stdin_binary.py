# Checks reading raw bytes from sys.stdin.buffer: CRLF kept, NUL and UTF-8 bytes intact.
# corpus: stdin = "line one\r\nzero:\u0000 tab:\t é€😀\nno newline at end"
import hashlib
import sys

data = sys.stdin.buffer.read()
print(len(data))
print(repr(data))
print(hashlib.sha256(data).hexdigest())
print("second read:", sys.stdin.buffer.read())
