# Helper for _modpkg (relative import target).
def helper():
    return "util.helper called"
