# Helper module next to dirmain/__main__.py.
NAME = "dhelper"
