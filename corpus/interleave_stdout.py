# Checks interleaving print(), sys.stdout.write() and os.write(1) (buffering is visible when unbuffered is unset).
import os
import sys

print("print 1")
os.write(1, b"os.write 1\n")
sys.stdout.write("stdout.write 1\n")
sys.stderr.write("stderr 1\n")
os.write(2, b"os.write(2) 1\n")
print("print 2 flushed", flush=True)
os.write(1, b"os.write 2\n")
print("print 3 no newline", end="")
os.write(1, b"[os.write 3]\n")
sys.stderr.write("stderr 2 no newline")
os.write(2, b"[os.write(2) 2]\n")
print("print 4 to stderr", file=sys.stderr)
for i in range(2000):
    print("bulk line", i)
os.write(1, b"os.write after bulk\n")
print("last print")
