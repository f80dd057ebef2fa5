# Checks running a directory containing __main__.py: sys.argv[0], sys.path[0], __file__, __spec__, sibling import.
# corpus: run = ["dirmain", "arg"]
import sys

import dhelper

print("argv:", sys.argv)
print("path0:", sys.path[0])
print("__name__:", __name__)
print("__file__:", __file__)
print("__spec__.name:", __spec__.name, "origin:", __spec__.origin)
print("__loader__:", type(__loader__).__name__)
print("__package__:", repr(__package__))
print("__cached__:", globals().get("__cached__", "<absent>"))
print("dhelper:", dhelper.__name__, dhelper.__file__)
print("sys.modules['__main__'] is this:", sys.modules["__main__"].__dict__ is globals())
