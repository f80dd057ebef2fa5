# Checks doctest.testmod() on the __main__ module: a failing example report with file/line, and the summary.
import doctest
import sys


def add(a, b):
    """Add two numbers.

    >>> add(1, 2)
    3
    >>> add("a", "b")
    'ab'
    >>> add(2, 2)
    5
    """
    return a + b


result = doctest.testmod()
print(result)
sys.exit(1 if result.failed else 0)
