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

    def flush(self):
        self._rote_inner.flush()
        # Replayed too: a flush orders this stream's output against the
        # other's when both go to one place.
        self._rote_log.append((self._rote_stream, None))

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


def install(log, raw):
    """Puts tees in place of ``sys.stdout``/``sys.stderr`` and of the streams
    logging handlers hold (``logging.basicConfig`` keeps the stderr of the
    moment); returns what ``uninstall`` puts back."""
    import sys

    swapped = []
    tees = {}
    for number, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        if stream is None:
            continue
        tee = Tee(stream, log, number, raw)
        tees[id(stream)] = tee
        setattr(sys, name, tee)
        swapped.append((sys, name, stream, tee))
    logging = sys.modules.get("logging")
    if logging is not None:
        loggers = [logging.getLogger()]
        loggers += [
            lg
            for lg in list(logging.Logger.manager.loggerDict.values())
            if isinstance(lg, logging.Logger)
        ]
        for lg in loggers:
            for handler in list(getattr(lg, "handlers", ())):
                stream = getattr(handler, "stream", None)
                if isinstance(handler, logging.StreamHandler) and id(stream) in tees:
                    handler.stream = tees[id(stream)]
                    swapped.append((handler, "stream", stream, tees[id(stream)]))
    return swapped


def uninstall(swapped):
    """Puts the original streams back where the tees still are."""
    for owner, name, original, tee in reversed(swapped):
        if getattr(owner, name, None) is tee:
            setattr(owner, name, original)
