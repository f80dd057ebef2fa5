# Checks default warning filters: UserWarning shown once per location, DeprecationWarning shown only from __main__.
import warnings

import _helper


def local_deprecated():
    warnings.warn("deprecated in __main__", DeprecationWarning)


for _ in range(3):
    _helper.noisy()
_helper.old_api()
_helper.internal_deprecated()
local_deprecated()
warnings.warn("a RuntimeWarning", RuntimeWarning)
warnings.warn("a PendingDeprecationWarning", PendingDeprecationWarning)
warnings.warn("an ImportWarning", ImportWarning)
warnings.warn("a ResourceWarning", ResourceWarning)
warnings.warn("with stacklevel=2 at module level", UserWarning, stacklevel=2)
print(warnings.filters[:6])
print("done")
