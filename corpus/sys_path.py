# Checks the full sys.path and prefixes (same stdlib and site-packages as the venv's python).
import site
import sys

for p in sys.path:
    print("path:", p)
print("prefix:", sys.prefix)
print("exec_prefix:", sys.exec_prefix)
print("base_prefix:", sys.base_prefix)
print("in venv:", sys.prefix != sys.base_prefix)
print("site-packages:", site.getsitepackages())
print("user site enabled:", site.ENABLE_USER_SITE)
print("numpy importable:", __import__("importlib.util").util.find_spec("numpy") is not None)
