# Checks PYTHONDEVMODE=1 and PYTHONWARNDEFAULTENCODING=1: dev_mode flag, ResourceWarning and EncodingWarning output.
# corpus: env = {"PYTHONDEVMODE": "1", "PYTHONWARNDEFAULTENCODING": "1"}
import gc
import sys

print("dev_mode:", sys.flags.dev_mode, "warn_default_encoding:", sys.flags.warn_default_encoding)
print("filters:", [(a, c.__name__) for a, _, c, _, _ in __import__("warnings").filters[:3]])


def leak():
    f = open("_data/append_me.txt", encoding="utf-8")  # noqa: SIM115
    return f.readline()


print(leak(), end="")
gc.collect()
with open("_data/append_me.txt") as f:
    print(f.read(), end="")
print("done")
