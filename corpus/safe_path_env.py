# Checks PYTHONSAFEPATH=1: the script's directory is not put on sys.path, so sibling imports fail.
# corpus: env = {"PYTHONSAFEPATH": "1"}
import os
import sys

print("safe_path flag:", sys.flags.safe_path)
print("script dir on sys.path:", os.getcwd() in sys.path, "" in sys.path)
try:
    import _helper  # noqa: F401
except ModuleNotFoundError as e:
    print("ModuleNotFoundError:", e)
