# Checks an exception and a sys.exit() inside threads: threading.excepthook output, exit status stays 0.
import sys
import threading


def bad():
    raise ValueError("error in thread")


def exits():
    sys.exit(9)


t = threading.Thread(target=bad)
t.start()
t.join()
t = threading.Thread(target=exits, name="exiter")
t.start()
t.join()
print("main continues after thread errors")
