# Checks a custom SIGINT handler installed with signal.signal() receiving a real SIGINT from outside.
# corpus: signal = "SIGINT"
# corpus: timeout = 40
import signal
import sys
import time

got = []


def handler(signum, frame):
    got.append(signal.Signals(signum).name)
    print("handler:", signal.Signals(signum).name, frame is not None)


old = signal.signal(signal.SIGINT, handler)
print("previous handler is default_int_handler:", old is signal.default_int_handler)
print("READY", flush=True)
deadline = time.monotonic() + 30
while not got and time.monotonic() < deadline:
    time.sleep(0.01)
print("got:", got)
sys.exit(4)
