"""Per-call cost of a cache hit: the memo benchmark's first part.

    rote run --cache-dir DIR hits.py rote   CALLS   # under rote
    python hits.py joblib CALLS DIR                 # joblib.Memory(DIR)
    python hits.py plain  CALLS                     # no cache: the compute cost

Five workloads, defined at top level (so rote wraps them and nothing else:
the measuring code below is module-level on purpose, not in a function),
each called with real arguments, because hashing the arguments is part of
what a hit costs. Each is called once untimed (a miss that stores it), then
CALLS rounds time one call of each workload in turn with
``time.perf_counter_ns``. Prints one JSON object on stdout:
``{"tool", "calls", "workloads": {name: {"first_ns", "samples_ns"}}}``.
"""

import json
import random
import sys
import time

import numpy as np

TOOL = sys.argv[1]
CALLS = int(sys.argv[2])
if TOOL == "rote":
    import rote

    rote.configure(min_duration=0)  # store every call, however fast


def leibniz(n):
    total = 0.0
    sign = 1.0
    for k in range(n):
        total += sign / (2 * k + 1)
        sign = -sign
    return 4.0 * total


def basel(n):
    return sum(1.0 / (k * k) for k in range(1, n + 1))


def qr(a):
    q, r = np.linalg.qr(a)
    return q, r


def bag_of_words(text):
    counts = {}
    for word in text.lower().split():
        word = word.strip(".,;:!?")
        counts[word] = counts.get(word, 0) + 1
    return counts


def inverse(a):
    return np.linalg.inv(a)


_rng = np.random.default_rng(12345)
_words = random.Random(12345)
_vocab = [
    "".join(
        _words.choice("abcdefghijklmnopqrstuvwxyz")
        for _ in range(_words.randint(2, 10))
    )
    for _ in range(3000)
]
_parts, _size = [], 0
while _size < 200_000:
    _w = _words.choice(_vocab) + _words.choice([" ", " ", " ", ". ", ", "])
    _parts.append(_w.capitalize() if _words.random() < 0.05 else _w)
    _size += len(_w)
TEXT = "".join(_parts)[:200_000]

WORKLOADS = [
    ("leibniz-2M", leibniz, (2_000_000,)),
    ("basel-2M", basel, (2_000_000,)),
    ("qr-400", qr, (_rng.standard_normal((400, 400)),)),
    ("bag-of-words-200k", bag_of_words, (TEXT,)),
    ("inverse-200", inverse, (_rng.standard_normal((200, 200)),)),
]

if TOOL == "joblib":
    import joblib

    _memory = joblib.Memory(sys.argv[3], verbose=0)
    WORKLOADS = [(name, _memory.cache(f), a) for name, f, a in WORKLOADS]
elif TOOL not in ("rote", "plain"):
    raise SystemExit(f"hits.py: unknown tool {TOOL!r} (rote, joblib or plain)")

_out = {"tool": TOOL, "calls": CALLS, "python": sys.version, "workloads": {}}
for _name, _f, _args in WORKLOADS:
    _t0 = time.perf_counter_ns()
    _f(*_args)
    _out["workloads"][_name] = {
        "first_ns": time.perf_counter_ns() - _t0,
        "samples_ns": [],
    }
for _ in range(CALLS):
    for _name, _f, _args in WORKLOADS:
        _t0 = time.perf_counter_ns()
        _f(*_args)
        _t1 = time.perf_counter_ns()
        _out["workloads"][_name]["samples_ns"].append(_t1 - _t0)
json.dump(_out, sys.stdout)
print()
