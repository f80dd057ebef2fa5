# Checks atexit.unregister and a handler that registers another handler / prints to stderr at shutdown.
import atexit
import sys


def gone():
    print("unregistered handler must not run")


def late():
    print("late handler registered during shutdown")


def first():
    print("first-registered handler runs last")
    print("stderr from atexit", file=sys.stderr)
    atexit.register(late)


atexit.register(first)
atexit.register(gone)
atexit.register(gone)
atexit.unregister(gone)
print("main done")
