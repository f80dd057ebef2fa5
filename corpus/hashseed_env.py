# Checks PYTHONHASHSEED=0: str hashes and set iteration order are reproducible and match python's.
# corpus: env = {"PYTHONHASHSEED": "0"}
import sys

print("hash_randomization:", sys.flags.hash_randomization)
print(hash("rote"), hash(b"bytes"), hash(("a", 1)))
print(list({"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}))
print(list({"x": 1, "y": 2}.keys()))
