# Checks sys.path[0] for a relative script path with "./" and ".." components.
# corpus: run = ["./_sub/../_sub/where.py"]
# (this file is only the carrier of the directive; the script that runs is _sub/where.py)
