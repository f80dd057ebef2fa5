# Helper script (not an entry): reports where Python thinks it is running from.
import os
import sys

import neighbour

print("argv:", sys.argv)
print("__file__:", __file__)
print("path0:", sys.path[0])
print("cwd:", os.getcwd())
print("neighbour:", neighbour.NAME, neighbour.__file__)
print("sys.modules['__main__'].__file__:", sys.modules["__main__"].__file__)
