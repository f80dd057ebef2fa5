# Checks print() with sys.stdout set to None (silently ignored) and with a closed sys.stdout (ValueError).
import sys

print("before")
sys.stdout.flush()
saved = sys.stdout
sys.stdout = None
print("goes nowhere")
sys.stdout = saved
print("restored")
sys.stdout.close()
sys.stderr.write("stdout closed\n")
print("fails")
