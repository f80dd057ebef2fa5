# Checks running a directory that has no __main__.py: "can't find '__main__' module", exit status 1.
# corpus: run = ["_sub"]
# (this file is only the carrier of the directive)
