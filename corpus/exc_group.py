# Checks the traceback of an uncaught nested ExceptionGroup, plus except* handling.
def fail(i):
    raise ValueError(f"bad value {i}")


def collect():
    errors = []
    for i in range(2):
        try:
            fail(i)
        except ValueError as e:
            errors.append(e)
    inner = ExceptionGroup("inner group", [TypeError("wrong type"), *errors])
    return ExceptionGroup("outer group", [inner, KeyError("k")])


try:
    raise collect()
except* KeyError as eg:
    print("caught", repr(eg.exceptions))
except* ValueError as eg:
    print("caught values", [str(e) for e in eg.exceptions])
    raise
