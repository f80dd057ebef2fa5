# Checks os.fork() with unflushed buffered stdout: the child inherits the buffer (line duplicated when buffered).
import atexit
import os
import sys

atexit.register(print, "atexit in pid-independent process")
print("before fork")
pid = os.fork()
if pid == 0:
    print("in child")
    sys.exit(3)
_, status = os.waitpid(pid, 0)
print("child exit code:", os.waitstatus_to_exitcode(status))
print("parent done")
