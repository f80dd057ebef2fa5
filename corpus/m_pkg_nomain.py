# Checks -m with a package that has no __main__: "cannot be directly executed", exit status 1.
# corpus: run = ["-m", "_pkgnomain"]
# (this file is only the carrier of the directive)
