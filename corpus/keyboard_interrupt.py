# Checks an uncaught KeyboardInterrupt raised by the script: traceback, then the process dies by SIGINT.
import atexit

atexit.register(print, "atexit still runs")
print("raising KeyboardInterrupt")
try:
    raise KeyboardInterrupt
finally:
    print("finally runs")
