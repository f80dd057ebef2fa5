# Helper module (not an entry) imported by several entries.
import warnings

VALUE = 42


def lookup(mapping, key):
    return mapping[key]


def old_api():
    warnings.warn("old_api() is deprecated, use new_api()", DeprecationWarning, stacklevel=2)
    return 1


def internal_deprecated():
    warnings.warn("internal deprecation, attributed to _helper", DeprecationWarning)
    return 3


def noisy():
    warnings.warn("noisy() was called", UserWarning)
    return 2
