# Helper module inside the zipapp.
import pkgutil


def read_data():
    return pkgutil.get_data(__name__, "data.txt").decode()


def fail():
    raise RuntimeError("traceback from inside the zipapp")
