# Checks a script importing itself by name: its body runs a second time as a separate module (and a .pyc is written).
import sys

print("running as", __name__)
if __name__ == "__main__":
    import self_import

    print("imported copy:", self_import.__name__, self_import is sys.modules["__main__"])
    import __main__

    print("import __main__ gives this module:", __main__.__dict__ is globals())
