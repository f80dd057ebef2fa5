# Checks an IndentationError (dedent to a column matching no outer block): report and exit status 1.
def f():
    if True:
        return 1
      return 2
