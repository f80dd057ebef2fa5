# Checks os._exit(7): no atexit/finally, and unflushed buffered output is lost (kept under PYTHONUNBUFFERED).
import atexit
import os
import sys

atexit.register(print, "atexit must not run")
print("printed, maybe lost")
sys.stdout.write("partial stdout line")
sys.stderr.write("partial stderr line")
os.write(2, b"\nraw stderr write\n")
try:
    os._exit(7)
finally:
    print("finally must not run")
