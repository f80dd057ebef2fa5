# Checks PYTHONWARNINGS with several filters (always, ignore by category) and sys.warnoptions.
# corpus: env = {"PYTHONWARNINGS": "always::UserWarning,ignore::RuntimeWarning,default::DeprecationWarning"}
import sys
import warnings

import _helper

print(sys.warnoptions)
for _ in range(2):
    _helper.noisy()
    _helper.old_api()
    _helper.internal_deprecated()
    warnings.warn("runtime, ignored", RuntimeWarning)
print("done")
