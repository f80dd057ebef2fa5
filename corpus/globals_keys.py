# Checks the sorted keys of globals()/locals() in the main module and that locals() is globals() there.
import sys

x = 1


def f():
    return sorted(locals())


print(sorted(globals()))
print(sorted(locals()))
print(locals() is globals())
print(f())
print(sorted(k for k in vars(sys.modules["__main__"]) if not k.startswith("__")))
