"""Output capture for memoized calls, embedded in the rote executable.

While a memoization candidate runs, ``sys.stdout`` and ``sys.stderr`` are
replaced by a ``Tee``: every write goes to the real stream at once and is
also logged, so that a later cache hit can write the same text again, in the
same order. Everything else is forwarded to the real stream.
"""

# Attributes that reach past the text layer: what is written through them
# cannot be captured, so a call that touches them is not stored.
_RAW = frozenset({"buffer", "detach"})


class Tee:
    __slots__ = ("_rote_inner", "_rote_log", "_rote_raw", "_rote_stream")

    def __init__(self, inner, log, stream, raw):
        self._rote_inner = inner
        self._rote_log = log
        self._rote_stream = stream
        self._rote_raw = raw

    def write(self, text):
        n = self._rote_inner.write(text)
        if isinstance(text, str):
            self._rote_log.append((self._rote_stream, text))
        return n

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        if name in _RAW:
            self._rote_raw()
        return getattr(self._rote_inner, name)

    def __iter__(self):
        return iter(self._rote_inner)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._rote_inner.__exit__(*exc)
