# Checks a custom sys.excepthook receiving the uncaught exception (exit status still 1).
import sys


def hook(exc_type, exc, tb):
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    print("hook:", exc_type.__name__, exc, frames, file=sys.stderr)
    print("hook saw stdout still open:", not sys.stdout.closed)


def boom():
    raise ValueError("handled by hook")


sys.excepthook = hook
print("installed hook")
boom()
