# Package without __main__ (not an entry): "-m _pkgnomain" must fail.
print("_pkgnomain imported")
