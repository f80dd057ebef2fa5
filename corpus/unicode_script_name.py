# Checks running a script whose file name is non-ASCII: argv, __file__ and the traceback path.
# corpus: run = ["_sub/ünïcode_名前.py", "ärg"]
# (this file is only the carrier of the directive)
