# Checks sys.exit(True): exit status 1, nothing printed on stderr.
import sys

print("exiting with True")
sys.exit(True)
