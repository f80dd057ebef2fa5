# Checks chained exception tracebacks: explicit "raise ... from", implicit context, and suppressed context.
def parse(text):
    try:
        return int(text)
    except ValueError as e:
        raise RuntimeError(f"cannot parse {text!r}") from e


def load():
    try:
        parse("abc")
    except RuntimeError:
        {}["key"]


def quiet():
    try:
        print(1 / 0)
    except ZeroDivisionError:
        raise LookupError("context suppressed") from None


try:
    quiet()
except LookupError as e:
    print("suppressed:", e.__suppress_context__, type(e.__context__).__name__)
load()
