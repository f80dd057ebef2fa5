# Checks sys.exit(3): exit status 3, output before exit is flushed, finally blocks run.
import sys

print("before exit")
sys.stderr.write("stderr before exit\n")
try:
    sys.exit(3)
finally:
    print("finally runs")
print("not reached")
