# Helper script with a non-ASCII file name (run by unicode_script_name.py's directive).
import sys

print("argv:", sys.argv)
print("__file__:", __file__)
raise RuntimeError("traceback from a non-ASCII file name")
