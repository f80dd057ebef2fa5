# Checks input() with piped stdin: prompts go to stdout, several lines (last one unterminated), then EOFError.
# corpus: stdin = "alpha\nbeta gamma\n\nünïcödé\nlast line without newline"
import sys

print("stdin isatty:", sys.stdin.isatty())
n = 0
while True:
    try:
        line = input(f"prompt{n}> ")
    except EOFError:
        print("\nEOFError after", n, "lines")
        break
    n += 1
    print(repr(line))
