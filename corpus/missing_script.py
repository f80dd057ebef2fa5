# Checks running a script that does not exist: "can't open file" on stderr, exit status 2.
# corpus: run = ["does_not_exist.py", "arg"]
# (this file is only the carrier of the directive)
