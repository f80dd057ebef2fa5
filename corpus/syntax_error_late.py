# Checks a syntax error detected on a later line (unterminated string), with nothing executed.
print("never printed")
values = [1, 2, 3]
message = "this string never ends
print(values)
