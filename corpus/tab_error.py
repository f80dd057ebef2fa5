# Checks a TabError from inconsistent tabs and spaces.
def f():
	x = 1
        return x
