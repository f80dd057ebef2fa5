# Checks SIGTERM while sleeping: default action kills the process, no finally/atexit output, buffered stdout lost.
# corpus: signal = "SIGTERM"
# corpus: timeout = 40
import atexit
import sys
import time

atexit.register(print, "atexit must not run")
sys.stderr.write("stderr line before READY\n")
sys.stderr.write("partial stderr without newline")
print("stdout line flushed together with READY")
print("READY", flush=True)
try:
    time.sleep(30)
finally:
    print("finally must not run")
