# Checks introspection of the main module: source via inspect/linecache, stack depth, module frame has no parent.
import inspect
import sys
import traceback


def where():
    return [(f.function, f.lineno) for f in inspect.stack()]


print(inspect.getsource(where), end="")
print("stack from function:", where())
print("module frame parent:", sys._getframe().f_back)
print("extract_stack:", [(fs.name, fs.lineno, fs.line) for fs in traceback.extract_stack()])
print("getfile:", inspect.getfile(where))
print("module:", inspect.getmodule(where).__name__, inspect.getmodulename(__file__))
print("code filename:", where.__code__.co_filename)
print("module code flags:", sys._getframe().f_code.co_name, sys._getframe().f_code.co_filename)
