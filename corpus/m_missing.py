# Checks -m with a module that does not exist: "No module named ...", exit status 1.
# corpus: run = ["-m", "_no_such_mod", "arg"]
# (this file is only the carrier of the directive)
