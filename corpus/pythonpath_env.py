# Checks PYTHONPATH (relative dir) is added after sys.path[0], made absolute, and importable.
# corpus: env = {"PYTHONPATH": "_libdir"}
import os
import sys

import libmod

print("path0:", sys.path[0])
print("path1:", sys.path[1])
print("libmod:", libmod.WHERE, libmod.__file__)
print("cwd not in path:", os.getcwd() in sys.path[1:])
