# Checks importing a sibling helper module (import, importlib.import_module, reload) and its __file__/__spec__/__cached__.
import importlib
import importlib.util
import sys

import _helper

mod = importlib.import_module("_helper")
print("same object:", mod is _helper, sys.modules["_helper"] is _helper)
print("__name__:", mod.__name__)
print("__file__:", mod.__file__)
print("__cached__:", mod.__cached__)
print("__spec__:", mod.__spec__.name, mod.__spec__.origin, mod.__spec__.cached)
print("__loader__:", type(mod.__loader__).__name__)
print("VALUE:", mod.VALUE)
print("reloaded is same:", importlib.reload(mod) is mod)
spec = importlib.util.spec_from_file_location("helper_copy", "_helper.py")
copy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(copy)
print("copy:", copy.__name__, copy.__file__, copy.VALUE, copy is not _helper)
print("find_spec missing:", importlib.util.find_spec("_definitely_missing_mod"))
