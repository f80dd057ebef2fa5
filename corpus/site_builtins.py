# Checks the site-provided exit() builtin (Quitter): it closes stdin and exits with the given code.
import sys

print(type(exit).__name__, repr(exit), repr(quit))
print("stdin closed before:", sys.stdin.closed)
try:
    exit(4)  # noqa: PLR1722
except SystemExit as e:
    print("SystemExit code:", e.code, "stdin closed after:", sys.stdin.closed)
exit(6)  # noqa: PLR1722
