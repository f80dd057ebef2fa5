# Module run with -m _modpkg.tool (driven by the m_module.py entry).
import os
import sys

from . import util

print("argv:", sys.argv)
print("path0:", sys.path[0], sys.path[0] == os.getcwd())
print("__name__:", __name__)
print("__file__:", __file__)
print("__package__:", __package__)
print("__spec__:", __spec__.name, __spec__.origin, __spec__.parent, __spec__.has_location)
print("__cached__:", __cached__)
print("__loader__:", type(__loader__).__name__, __loader__.name)
print("main is sys.modules['__main__']:", sys.modules["__main__"].__dict__ is globals())
print("_modpkg.tool in sys.modules:", "_modpkg.tool" in sys.modules)
print("util:", util.__name__, util.helper())
