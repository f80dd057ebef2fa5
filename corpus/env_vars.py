# Checks the environment seen by the script: no variables added or removed by the launcher.
import os

print(sorted(os.environ))
for key in sorted(os.environ):
    if key.startswith(("PYTHON", "LC_", "LANG", "VIRTUAL_ENV", "RUST")):
        print(key, "=", os.environ[key])
print("os.environ matches environ bytes:", len(os.environb) == len(os.environ))
