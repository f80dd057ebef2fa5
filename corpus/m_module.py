# Checks -m with a submodule of a package plus args: sys.argv[0] is the module path, __spec__/__package__ set.
# corpus: run = ["-m", "_modpkg.tool", "x", "--y", "z z"]
# (this file is only the carrier of the directive)
