# Checks the exact recursion depth reachable from the main module (depends on frames above the script).
import sys


def depth(n=1):
    try:
        return depth(n + 1)
    except RecursionError:
        return n


print("limit:", sys.getrecursionlimit())
print("max depth from module level:", depth())
sys.setrecursionlimit(200)
print("max depth with limit 200:", depth())
