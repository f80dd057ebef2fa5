# Checks PYTHONOPTIMIZE=2: __debug__ is False, asserts are skipped, docstrings stripped, .opt-2.pyc names.
# corpus: env = {"PYTHONOPTIMIZE": "2"}
import sys

import _helper


def documented():
    """A docstring."""


print("optimize:", sys.flags.optimize, "__debug__:", __debug__)
assert False, "asserts are skipped"
print("doc:", documented.__doc__)
print("helper cached:", _helper.__cached__)
print("assert skipped")
