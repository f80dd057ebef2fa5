# Checks child interpreters via subprocess: sys.executable -c, -B -c, a script file, stdin, exit codes, stderr.
import subprocess
import sys


def run(args, **kw):
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, **kw)
    print("args:", args[:2], "rc:", r.returncode)
    print("  out:", repr(r.stdout))
    print("  err:", repr(r.stderr))


run(["-c", "import sys; print('hello from -c', sys.argv, __name__)", "a1", "a2"])
run(["-B", "-c", "import sys; print(sys.dont_write_bytecode, sys.flags.dont_write_bytecode)"])
run(["-c", "import sys; print(sys.stdin.read().upper()); sys.exit(3)"], input="piped text\n")
run(["-c", "import sys; sys.path.insert(0, '.'); import _helper; print(_helper.VALUE, sys.executable == sys.argv[1])", sys.executable])
run(["-c", "raise SystemExit('child exit message')"])
run(["-c", "1/0"])
run(["_child.py", "x", "y z"])
run(["-u", "_child.py", "unbuffered"])
r = subprocess.run([sys.executable, "-c", "import sys; sys.stdout.write('partial')"], stdout=subprocess.PIPE, check=False)
print("bytes:", r.stdout)
print("check_output:", subprocess.check_output([sys.executable, "_child.py", "co"], text=True).splitlines())
