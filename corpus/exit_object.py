# Checks sys.exit() with a non-int, non-str object: its str() goes to stderr, exit status 1.
import sys


class Code:
    def __str__(self):
        return "custom exit object"


print("exiting with an object")
sys.exit(Code())
