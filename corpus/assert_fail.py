# Checks __debug__ and an assert failure with a message: AssertionError traceback, exit status 1.
print("__debug__:", __debug__)


def check(x):
    assert x > 10, f"x too small: {x}"
    return x


print(check(11))
check(3)
