# Checks atexit: LIFO order, args/kwargs, a raising handler is reported and the rest still run, exit status kept.
import atexit
import sys


class Failing:
    def __repr__(self):
        return "<Failing handler>"

    def __call__(self):
        print("failing handler runs")
        raise ValueError("error inside atexit handler")


def handler(name, *, suffix=""):
    print("handler", name + suffix)


atexit.register(handler, "registered first")
atexit.register(Failing())
atexit.register(handler, "registered third", suffix="!")
atexit.register(sys.stdout.write, "raw write from atexit\n")
print("main done")
sys.exit(5)
