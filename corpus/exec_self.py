# Checks os.execv of sys.executable: the process image is replaced; unflushed buffered output is lost.
import os
import sys

print("printed before exec (lost when stdout is buffered)")
sys.stderr.write("stderr before exec\n")
os.execv(sys.executable, [sys.executable, "_child.py", "from-exec"])
