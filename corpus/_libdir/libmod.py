# Helper module found only through PYTHONPATH=_libdir (pythonpath_env.py).
WHERE = "_libdir"
