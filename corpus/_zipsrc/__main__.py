# Main of the zipapp app.pyz (source kept here; rebuild: python -m zipapp _zipsrc -o app.pyz).
import sys

import zmod

print("argv:", sys.argv)
print("path0:", sys.path[0])
print("__name__:", __name__)
print("__file__:", __file__)
print("__spec__.name:", __spec__.name, "origin:", __spec__.origin)
print("__loader__:", type(__loader__).__name__)
print("__package__:", repr(__package__))
print("zmod:", zmod.__file__, zmod.__loader__.__class__.__name__)
print("zmod data:", zmod.read_data())
zmod.fail()
