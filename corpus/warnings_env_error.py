# Checks PYTHONWARNINGS=error::DeprecationWarning: the DeprecationWarning from a helper becomes an uncaught exception.
# corpus: env = {"PYTHONWARNINGS": "error::DeprecationWarning"}
import sys

import _helper

print(sys.warnoptions)
_helper.noisy()
print("calling old_api")
_helper.old_api()
print("not reached")
