"""The `rote` module as a script uses it inside `rote run`: `rote.stats()`,
`rote.invalidate()`, `rote.clear()`, `rote.RoteError`. Each script prints
what it saw as JSON; the runs are real `rote run` processes."""

import json

import pytest
from test_memo_e2e import Project


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def _last_json(run):
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


STATS = """
import json

import rote


def square(x):
    return x * x


def noisy(x):
    import time

    time.perf_counter()
    return x


square(2)
square(2)
square(3)
noisy(1)
s = rote.stats()
print(json.dumps(s, sort_keys=True))
"""


def test_stats_reports_this_run_and_the_cache(project):
    project.write("main.py", STATS)
    first = _last_json(project.rote())
    assert (first["hits"], first["misses"], first["stored"]) == (1, 3, 2)
    assert first["entries"] == 2
    assert first["bytes"] > 0
    assert first["invalidation_reasons"] == {
        "argument changed": 1,
        "calls impure stdlib: time.perf_counter": 1,
    }
    square = first["functions"]["__main__.square"]
    assert square.pop("time_saved_s") >= 0
    assert square == {
        "hits": 1,
        "misses": 2,
        "stored": 2,
        "reasons": {"argument changed": 1},
    }
    assert first["functions"]["__main__.noisy"]["reasons"] == {
        "calls impure stdlib: time.perf_counter": 1
    }
    second = _last_json(project.rote())
    assert (second["hits"], second["misses"], second["stored"]) == (3, 1, 0)
    assert second["entries"] == 2


INVALIDATE = """
import json
import sys

import rote


def load(x):
    return [x] * 3


def fit(x):
    return x + 1


class Model:
    def score(self, x):
        return x * 2


m = Model()
print(load(1), fit(1), m.score(1), file=sys.stderr)
out = {}
out["by_function"] = rote.invalidate(load)
out["by_qualname"] = rote.invalidate("Model.score")
out["by_full_name"] = rote.invalidate("__main__.fit")
out["unknown_name"] = rote.invalidate("nothing_like_this")
print(load(1), fit(1), m.score(1), file=sys.stderr)
out["after_rerun"] = rote.stats()["entries"]
out["everything"] = rote.invalidate()
out["left"] = rote.stats()["entries"]
try:
    rote.invalidate(42)
except TypeError as e:
    out["bad_target"] = str(e)
print(json.dumps(out, sort_keys=True))
"""


def test_invalidate_drops_a_function_or_everything(project):
    project.write("main.py", INVALIDATE)
    out = _last_json(project.rote())
    assert out == {
        "by_function": 1,
        "by_qualname": 1,
        "by_full_name": 1,
        "unknown_name": 0,
        "after_rerun": 3,
        "everything": 3,
        "left": 0,
        "bad_target": "rote.invalidate expects a function or its name, not int",
    }
    # The calls made after each invalidation missed and were stored again.
    status = project.status()
    assert status["__main__.load"]["stored"] == 2
    assert status["__main__.Model.score"]["stored"] == 2


CLEAR = """
import json

import rote


def work(x):
    return x * 3


work(1)
before = rote.stats()["entries"]
rote.clear()
after = rote.stats()["entries"]
work(1)
print(json.dumps({"before": before, "after": after, "again": rote.stats()["entries"],
                  "error_is_exception": issubclass(rote.RoteError, Exception),
                  "error_module": rote.RoteError.__module__}))
"""


def test_clear_wipes_the_cache_and_the_next_call_runs(project):
    project.write("main.py", CLEAR)
    out = _last_json(project.rote())
    assert out == {
        "before": 1,
        "after": 0,
        "again": 1,
        "error_is_exception": True,
        "error_module": "rote",
    }
