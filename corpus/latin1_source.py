# Checks a latin-1 encoded source file (coding cookie on line 2) with latin-1 bytes in string literals.
# -*- coding: latin-1 -*-
s = "café à la crème brûlée © µ"
print(s)
print(len(s), [hex(ord(c)) for c in s if ord(c) > 127])
print(s.encode("utf-8"))
raise ValueError("error with latin-1 source line: é")
