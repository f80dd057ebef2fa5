# Checks sys.flags and related interpreter state that must match python's for a plain script run.
import sys

print(sys.flags)
print("dont_write_bytecode:", sys.dont_write_bytecode)
print("warnoptions:", sys.warnoptions, "xoptions:", sys._xoptions)
print("recursionlimit:", sys.getrecursionlimit())
print("switchinterval:", sys.getswitchinterval())
print("int_max_str_digits:", sys.get_int_max_str_digits())
print("pycache_prefix:", sys.pycache_prefix)
print("platlibdir:", sys.platlibdir)
print("interactive hooks:", hasattr(sys, "ps1"), hasattr(sys, "ps2"))
print("builtins exit/quit/help/copyright:", [hasattr(__builtins__, n) for n in ("exit", "quit", "help", "copyright")])
print("site imported:", "site" in sys.modules)
print("sys.argv:", sys.argv)
print("hash randomized:", sys.flags.hash_randomization)
