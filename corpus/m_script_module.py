# Checks -m on a plain top-level module (this very file run as a module): __name__, __spec__, __file__, argv[0].
# corpus: run = ["-m", "m_script_module", "--opt"]
import sys

print("argv:", sys.argv)
print("__name__:", __name__)
print("__spec__:", __spec__.name, __spec__.origin)
print("__package__:", repr(__package__))
print("__cached__:", __cached__)
