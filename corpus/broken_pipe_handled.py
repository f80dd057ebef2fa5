# Checks the documented BrokenPipeError recipe: catch it, point stdout at devnull, exit 1 quietly.
# corpus: head = 2
import os
import sys

try:
    for i in range(300000):
        print("row", i)
    sys.stdout.flush()
except BrokenPipeError:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.stderr.write("broken pipe handled\n")
    sys.exit(1)
