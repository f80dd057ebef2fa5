# Checks an uncaught ModuleNotFoundError from importing a missing module.
print("importing", flush=True)
import _no_such_module_here  # noqa: F401
