# Checks an uncaught RecursionError: traceback with the "[Previous line repeated N more times]" summary.
import sys


def recurse(n):
    return recurse(n + 1) + 1


print("limit:", sys.getrecursionlimit())
recurse(0)
