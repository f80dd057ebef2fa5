# Checks SIGINT set to SIG_IGN by the script: a real SIGINT from outside is ignored and the script finishes.
# corpus: signal = "SIGINT"
# corpus: timeout = 40
import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
print("READY", flush=True)
time.sleep(1.5)
print("survived SIGINT")
