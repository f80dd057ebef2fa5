# Helper module importable only because sys.path[0] is the script's directory.
NAME = "neighbour"
