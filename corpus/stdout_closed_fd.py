# Checks printing after fd 1 was closed: EBADF on flush (at exit when buffered, at print when unbuffered).
import os
import sys

print("this line is flushed", flush=True)
os.close(1)
sys.stderr.write("fd 1 closed\n")
print("written into a closed fd")
sys.stderr.write("after print\n")
