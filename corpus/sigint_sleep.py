# Checks a real SIGINT while sleeping: KeyboardInterrupt traceback, finally and atexit output, death by SIGINT.
# corpus: signal = "SIGINT"
# corpus: timeout = 40
import atexit
import threading
import time

atexit.register(print, "atexit handler runs")
print("main: before sleep")
# READY comes from a timer thread so that the main thread is surely inside time.sleep()
# when the signal arrives (otherwise the traceback line could vary).
threading.Timer(0.3, print, ("READY",), {"flush": True}).start()
try:
    time.sleep(30)
finally:
    print("finally runs")
print("not reached")
