# Checks sys.argv[0], __file__ and sys.path[0] when the script is given as ./name.py.
# corpus: run = ["./argv_dotslash.py", "one"]
import os
import sys

print("argv:", sys.argv)
print("__file__:", __file__)
print("isabs(__file__):", os.path.isabs(__file__))
print("path0:", sys.path[0])
print("path0 == cwd:", sys.path[0] == os.getcwd())
