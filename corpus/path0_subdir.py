# Checks sys.path[0] / __file__ / cwd for a script in a subdirectory given by a relative path.
# corpus: run = ["_sub/where.py", "arg1"]
# (this file is only the carrier of the directive; the script that runs is _sub/where.py)
