# Checks a hard crash (NULL read via ctypes): the process is killed by SIGSEGV, buffered stdout is lost.
import ctypes
import sys

print("before crash (lost when stdout is buffered)")
sys.stderr.write("stderr before crash\n")
ctypes.string_at(0)
print("not reached")
