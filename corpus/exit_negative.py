# Checks sys.exit(-1): the process exit status becomes 255.
import sys

print("exiting with -1")
sys.exit(-1)
