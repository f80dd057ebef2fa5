# Helper script run as a child process by subprocess_children.py.
import os
import sys

import _helper

print("child argv:", sys.argv)
print("child __file__:", __file__)
print("child path0 is cwd:", sys.path[0] == os.getcwd())
print("child helper:", _helper.VALUE)
print("child stdout layers:", type(sys.stdout.buffer).__name__, sys.stdout.write_through)
print("child stderr line", file=sys.stderr)
