# Checks the module attributes of __main__: __name__, __file__, __spec__, __loader__, __package__, __builtins__, __cached__, __doc__.
"""Docstring of the main module."""
import builtins
import os
import sys

print("__name__:", __name__)
print("__file__:", __file__, os.path.isabs(__file__))
print("__spec__:", __spec__)
print("__loader__ type:", type(__loader__).__module__, type(__loader__).__qualname__)
print("__loader__.name:", getattr(__loader__, "name", None))
print("__loader__.path:", getattr(__loader__, "path", None))
print("__package__:", repr(__package__))
print("__builtins__ is builtins:", __builtins__ is builtins)
print("type(__builtins__):", type(__builtins__).__name__)
print("__cached__:", repr(globals().get("__cached__", "<absent>")))
print("__doc__:", repr(__doc__))
main = sys.modules["__main__"]
print("sys.modules['__main__'] is this module:", main.__dict__ is globals())
print("main type:", type(main).__name__, main.__name__)
print("main repr:", repr(main))
print("__annotations__" in globals())
