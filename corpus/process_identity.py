# Checks the OS-level process: it is the interpreter itself (/proc/self/exe), one OS thread, fds 0-2 only, umask.
import os
import sys

print("exe is sys.executable:", os.path.realpath(sys.executable) == os.readlink("/proc/self/exe"))
print("os threads:", len(os.listdir("/proc/self/task")))
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
print("open fds (incl. the listdir one):", fds)
for fd in fds[:3]:
    print(fd, "inheritable:", os.get_inheritable(fd), "blocking:", os.get_blocking(fd))
mask = os.umask(0)
os.umask(mask)
print("umask:", oct(mask))
