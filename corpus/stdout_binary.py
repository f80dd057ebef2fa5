# Checks mixing print() with sys.stdout.buffer.write() (text layer pending buffer vs binary layer) and raw bytes.
import sys

print("text line 1")
sys.stdout.buffer.write(b"binary line 1\n")
print("text line 2", flush=True)
sys.stdout.buffer.write(b"binary line 2\n")
sys.stdout.buffer.write(bytes(range(0, 256, 7)) + b"\n")
sys.stdout.buffer.write(b"\xff\xfe invalid utf-8\n")
print("text line 3")
sys.stdout.buffer.flush()
print("text line 4")
