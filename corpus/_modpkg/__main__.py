# __main__ of _modpkg, run with "-m _modpkg" (driven by the m_package.py entry).
import sys

print("argv:", sys.argv)
print("__name__:", __name__, "__package__:", __package__)
print("__spec__:", __spec__.name, __spec__.parent)
print("__file__:", __file__)
sys.exit("_modpkg main exiting with a message")
