# Package (not an entry) run with -m: python -m _modpkg / python -m _modpkg.tool.
print("_modpkg/__init__ imported as", __name__)
