# Checks a sys.excepthook that itself raises: "Error in sys.excepthook" plus the original traceback.
import sys


def bad_hook(exc_type, exc, tb):
    print("bad hook called with", exc_type.__name__)
    raise RuntimeError("the hook is broken")


sys.excepthook = bad_hook
raise ValueError("original error")
