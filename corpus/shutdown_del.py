# Checks interpreter finalization: __del__ of module globals, weakref.finalize and atexit order at exit.
import atexit
import weakref


class Resource:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("__del__", self.name)


def finalizer(name):
    print("weakref.finalize", name)


r1 = Resource("global r1")
r2 = Resource("global r2")
weakref.finalize(r2, finalizer, "r2")
atexit.register(print, "atexit handler")
temp = Resource("temporary")
del temp
print("main done")
