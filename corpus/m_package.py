# Checks -m with a package that has __main__.py (and sys.exit with a message from it).
# corpus: run = ["-m", "_modpkg", "pkg-arg"]
# (this file is only the carrier of the directive)
