# Checks a file with a syntax error: SyntaxError report with caret, exit status 1, nothing executed.
print("never printed")


def broken(:
    return 1
