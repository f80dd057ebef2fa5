# Checks sys.exit("message"): message printed to stderr, exit status 1.
import sys

print("stdout line")
sys.exit("fatal: something went wrong (ünïcode)")
