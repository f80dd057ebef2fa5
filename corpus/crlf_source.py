# Checks a source file with CRLF line endings: runs normally, traceback shows clean source lines.
def fail():
    text = """multi
line"""
    print(repr(text))
    raise ValueError("from a CRLF file")


fail()
