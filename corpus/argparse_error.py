# Checks argparse usage errors: prog name taken from sys.argv[0], usage on stderr, exit status 2.
# corpus: run = ["argparse_error.py", "--count", "three", "file.txt"]
import argparse

parser = argparse.ArgumentParser(description="demo tool")
parser.add_argument("path")
parser.add_argument("--count", type=int, default=1)
print("prog:", parser.prog)
parser.print_help()
args = parser.parse_args()
print("not reached", args)
