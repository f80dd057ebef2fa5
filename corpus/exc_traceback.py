# Checks an uncaught exception with a multi-frame traceback (including a helper module frame): stderr and exit status 1.
import _helper


def outer(n):
    return middle(n * 2)


def middle(n):
    data = {"a": 1}
    return _helper.lookup(data, f"missing-{n}")


print("start", flush=True)
outer(21)
