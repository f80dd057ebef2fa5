# Checks sys.exit() with an int too large for a C long: OverflowError is reported and the exit status is 255.
import sys

print("exiting with 2**100")
sys.exit(2**100)
