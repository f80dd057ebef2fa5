# Checks sys.exit(256): the status is truncated by the OS to 0.
import sys

print("exiting with 256")
sys.exit(256)
