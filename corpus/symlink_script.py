# Checks sys.path[0] when a script is run through a symlink (child interpreter): it is the target's directory.
import os
import subprocess
import sys

os.mkdir("linkdir")
os.symlink(os.path.join("..", "_sub", "where.py"), os.path.join("linkdir", "where_link.py"))
try:
    r = subprocess.run([sys.executable, "linkdir/where_link.py"], capture_output=True, text=True, check=False)
    print(r.returncode)
    print(r.stdout, end="")
    print(r.stderr, end="")
finally:
    os.unlink(os.path.join("linkdir", "where_link.py"))
    os.rmdir("linkdir")
