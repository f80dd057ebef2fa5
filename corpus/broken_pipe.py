# Checks an unhandled BrokenPipeError when the reader closes stdout early (plus the failed flush at shutdown).
# corpus: head = 3
# Each line is flushed: with plain buffered prints CPython itself is racy here (whether the
# failed chunk is still in the buffer at exit, i.e. status 120 vs 1, depends on timing).
for i in range(300000):
    print("line", i, flush=True)
