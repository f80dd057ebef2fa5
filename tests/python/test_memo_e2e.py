"""End-to-end perturbation tests of memoization: real `rote run` processes on
a throw-away project, edited between runs, each run checked twice:

- against plain python on the same tree: stdout, stderr, exit status and every
  file of the project must be what `python main.py` gives (the tree is put
  back between the two runs, so both start from the same state);
- against `rote status --json`: which functions were served from the cache,
  which ran, why, and which were stored.

Runs inside rote (`rote -m pytest tests/python -k memo_e2e`), where
`sys.executable` is the rote binary; plain python is the virtualenv's.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV = os.environ.get("VIRTUAL_ENV")
if not VENV:
    pytest.skip(
        "memo_e2e compares rote with the virtualenv's plain python: "
        "set VIRTUAL_ENV (to a venv with numpy and pandas)",
        allow_module_level=True,
    )
VENV_PYTHON = str(Path(VENV) / "bin" / "python")
ROTE = sys.executable
TIMEOUT = 120

# The inherited environment, and one without the two variables that change
# how python buffers its output and whether it writes bytecode.
ENV_MODES = ["inherited", "bare"]


# ---------------------------------------------------------------------------
# Helper layer


@dataclass
class Run:
    stdout: str
    stderr: str
    returncode: int


def _env(mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTE_")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    if mode == "bare":
        env.pop("PYTHONUNBUFFERED", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _skipped(parts):
    return ".rote" in parts or "__pycache__" in parts


def counts(hits=0, misses=0, stored=0, reasons=None):
    """One function's line of `rote status --json`'s last run."""
    return {"hits": hits, "misses": misses, "stored": stored, "reasons": reasons or {}}


def hit(n=1):
    return counts(hits=n)


def miss(reason=None, n=1, stored=True):
    """`n` executions, each for `reason` (None: the function's first call
    ever), stored each time, or not stored for the reason given as `stored`.
    (A call with new arguments of a function that has entries misses with
    `argument changed`.)"""
    reasons = {reason: n} if reason else {}
    if stored is True:
        return counts(misses=n, stored=n, reasons=reasons)
    reasons[stored] = reasons.get(stored, 0) + n
    return counts(misses=n, reasons=reasons)


class Project:
    """A project folder, runs of rote and python in it, and rote's report."""

    # The runs' standard input (None: this process's).
    stdin = None

    def __init__(self, root: Path, mode: str = "inherited"):
        self.root = root
        self.env = _env(mode)
        self.cache = root / ".rote"

    # -- files

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def read(self, rel):
        return (self.root / rel).read_text()

    def edit(self, rel, old, new):
        """Replaces `old` by `new`, and moves the file's modification time two
        seconds on: python's `__pycache__` records sources by size and whole
        seconds, so a same-size edit within a second would make plain python
        (not rote, which compiles from source) run the old code."""
        path = self.root / rel
        text = self.read(rel)
        assert text.count(old) == 1, f"{old!r} is not in {rel} exactly once"
        st = os.stat(path)
        path.write_text(text.replace(old, new))
        later = max(st.st_mtime_ns + 2_000_000_000, os.stat(path).st_mtime_ns)
        os.utime(path, ns=(later, later))

    def files(self):
        """Every file of the project (not the cache, not bytecode): bytes."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if path.is_file() and not _skipped(rel.parts):
                out[str(rel)] = path.read_bytes()
        return out

    def _stats(self):
        return {rel: os.stat(self.root / rel) for rel in self.files()}

    def _restore(self, before, stats):
        """Puts the tree back as it was before a run: contents and times."""
        now = self.files()
        for rel in now:
            if rel not in before:
                (self.root / rel).unlink()
        for rel, data in before.items():
            if now.get(rel) != data:
                path = self.root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                st = stats[rel]
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    # -- processes

    def _run(self, argv, env=None, merged=False):
        """`merged`: stderr goes to the same pipe as stdout, as with `2>&1`."""
        p = subprocess.run(
            argv,
            check=False,
            cwd=self.root,
            env=env or self.env,
            stdin=self.stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
        )
        return Run(p.stdout, p.stderr or "", p.returncode)

    def rote(self, script="main.py", *args, merged=False):
        argv = [ROTE, "run", "--cache-dir", str(self.cache), "--min-duration", "0"]
        return self._run(argv + [script, *args], merged=merged)

    def python(self, script="main.py", *args, merged=False):
        return self._run([VENV_PYTHON, script, *args], merged=merged)

    def status(self):
        """`rote status --json` of the cache: the last run's functions, each
        reduced to hits, misses, stored and reasons."""
        env = dict(self.env, ROTE_CACHE_DIR=str(self.cache))
        r = self._run([ROTE, "status", "--json"], env=env)
        assert r.returncode == 0, r.stderr
        last = json.loads(r.stdout)["last_run"]
        assert last is not None, r.stdout
        return {
            name: {k: f[k] for k in ("hits", "misses", "stored", "reasons")}
            for name, f in last["functions"].items()
        }

    def run(self, script="main.py", *args, returncode=0, merged=False):
        """One rote run, then python on the same starting tree: both must
        print, exit and leave the project the same. Returns rote's
        per-function report of the run; the run is kept in `last`."""
        before, stats = self.files(), self._stats()
        r = self.rote(script, *args, merged=merged)
        after_rote = self.files()
        report = self.status()
        self._restore(before, stats)
        p = self.python(script, *args, merged=merged)
        after_python = self.files()
        log = f"rote stderr:\n{r.stderr}\npython stderr:\n{p.stderr}"
        assert r.returncode == p.returncode == returncode, log
        assert r.stdout == p.stdout, log
        assert r.stderr == p.stderr
        assert after_rote.keys() == after_python.keys()
        for rel in after_rote:
            assert after_rote[rel] == after_python[rel], rel
        self.last = r
        return report


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


# ---------------------------------------------------------------------------
# The numpy/pandas pipeline

PIPELINE = """
import numpy as np
import pandas as pd


def load(path):
    df = pd.read_csv(path)
    print(f"load: {len(df)} rows")
    return df


def features(df):
    out = pd.DataFrame({"x": df["x"], "y": df["y"]})
    out["x2"] = out["x"] ** 2
    out["xy"] = out["x"] * out["y"]
    print(f"features: {out.shape[1]} columns")
    return out


def fit(feats, ridge=0.0):
    X = np.column_stack([np.ones(len(feats)), feats["x"], feats["x2"]])
    A = X.T @ X + ridge * np.eye(X.shape[1])
    coef = np.linalg.solve(A, X.T @ feats["y"].to_numpy())
    print("fit: solved")
    return coef


def report(coef, digits=4):
    text = "coef = [" + ", ".join(f"{c:.{digits}f}" for c in coef) + "]"
    print(text)
    return text


df = load("data.csv")
feats = features(df)
coef = fit(feats)
summary = report(coef)
print("done:", len(summary))
"""

STAGES = ["__main__.load", "__main__.features", "__main__.fit", "__main__.report"]


def data_csv(rows=200):
    lines = ["x,y"]
    for i in range(rows):
        x = i / 10
        noise = ((i * 37) % 11 - 5) / 100
        lines.append(f"{x:.2f},{3 + 2 * x - 0.5 * x * x + noise:.4f}")
    return "\n".join(lines) + "\n"


def pipeline(project):
    project.write("main.py", PIPELINE)
    project.write("data.csv", data_csv())
    return project


def stages(*outcomes):
    return dict(zip(STAGES, outcomes))


def cold_and_warm(project):
    assert project.run() == stages(miss(), miss(), miss(), miss())
    assert "coef = [" in project.last.stdout
    assert project.run() == stages(hit(), hit(), hit(), hit())


# Per stage, an edit that changes the value the stage returns.
STAGE_EDITS = [
    (
        "df = pd.read_csv(path)\n",
        "df = pd.read_csv(path).iloc[1:].reset_index(drop=True)\n",
    ),
    ('out["x2"] = out["x"] ** 2', 'out["x2"] = out["x"] ** 2 / 2'),
    ("    return coef\n", "    return coef[::-1].copy()\n"),
    ('text = "coef = ["', 'text = "coefficients = ["'),
]


@pytest.mark.parametrize("mode", ENV_MODES)
def test_pipeline_edit_each_stage(tmp_path, mode):
    """Editing stage i: the stages before it are served, it runs for its own
    source, and the ones after it run because their argument changed."""
    project = pipeline(Project(tmp_path, mode))
    cold_and_warm(project)
    for i, (old, new) in enumerate(STAGE_EDITS):
        project.edit("main.py", old, new)
        expected = (
            [hit()] * i
            + [miss("source changed")]
            + [miss("argument changed")] * (len(STAGES) - i - 1)
        )
        assert project.run() == stages(*expected), f"edit of {STAGES[i]}"
    assert project.run() == stages(hit(), hit(), hit(), hit())
    assert "coefficients = [" in project.last.stdout


COSMETIC_EDITS = {
    "comment": [
        ("    A = X.T @ X", "    # the normal equations\n    A = X.T @ X"),
        ("pd.read_csv(path)\n", "pd.read_csv(path)  # all columns\n"),
    ],
    "docstring": [
        ("def features(df):\n", 'def features(df):\n    """Squares and products."""\n'),
        (
            "def report(coef, digits=4):\n",
            "def report(coef, digits=4):\n    'One line.'\n",
        ),
    ],
    "whitespace": [
        ("\n\ndef fit(", "\n\n\n\n\ndef fit("),
        (
            '    text = "coef = [" + ", ".join(f"{c:.{digits}f}" for c in coef) + "]"\n',
            (
                '    text = (\n        "coef = ["\n'
                '        + ", ".join(f"{c:.{digits}f}"  for c in coef)\n'
                '        + "]"\n    )\n'
            ),
        ),
        ("    X = np.column_stack(", "\n    X = np.column_stack ("),
    ],
    "local rename": [
        (
            "    A = X.T @ X + ridge * np.eye(X.shape[1])\n",
            "    gram = X.T @ X + ridge * np.eye(X.shape[1])\n",
        ),
        ("np.linalg.solve(A, ", "np.linalg.solve(gram, "),
        ("    out = pd.DataFrame(", "    frame = pd.DataFrame("),
        ('    out["x2"] = out["x"] ** 2', '    frame["x2"] = frame["x"] ** 2'),
        (
            '    out["xy"] = out["x"] * out["y"]',
            '    frame["xy"] = frame["x"] * frame["y"]',
        ),
        (
            '{out.shape[1]} columns")\n    return out\n',
            '{frame.shape[1]} columns")\n    return frame\n',
        ),
    ],
}


def test_pipeline_cosmetic_edits_all_hit(project):
    """Comments, docstrings, whitespace and renamed locals cannot change a
    result: every stage is still served from the cache."""
    pipeline(project)
    assert project.run() == stages(miss(), miss(), miss(), miss())
    for kind, edits in COSMETIC_EDITS.items():
        for old, new in edits:
            project.edit("main.py", old, new)
        assert project.run() == stages(hit(), hit(), hit(), hit()), kind


def test_pipeline_semantic_edits_miss(project):
    """A changed literal, operator or default value is a new function."""
    pipeline(project)
    assert project.run() == stages(miss(), miss(), miss(), miss())

    # literal: every value after it changes
    project.edit("main.py", 'out["x"] ** 2', 'out["x"] ** 3')
    assert project.run() == stages(
        hit(),
        miss("source changed"),
        miss("argument changed"),
        miss("argument changed"),
    )
    # undone, the first version's entries serve again; redone, the second's
    project.edit("main.py", 'out["x"] ** 3', 'out["x"] ** 2')
    assert project.run() == stages(hit(), hit(), hit(), hit())
    project.edit("main.py", 'out["x"] ** 2', 'out["x"] ** 3')
    assert project.run() == stages(hit(), hit(), hit(), hit())
    # operator: `xy` is not used by fit, so its coefficients come out the same
    # and report is served again
    project.edit("main.py", 'out["x"] * out["y"]', 'out["x"] + out["y"]')
    assert project.run() == stages(
        hit(), miss("source changed"), miss("argument changed"), hit()
    )
    # default values
    project.edit(
        "main.py", "def report(coef, digits=4):", "def report(coef, digits=3):"
    )
    assert project.run() == stages(hit(), hit(), hit(), miss("source changed"))
    project.edit("main.py", "def fit(feats, ridge=0.0):", "def fit(feats, ridge=1.0):")
    assert project.run() == stages(
        hit(), hit(), miss("source changed"), miss("argument changed")
    )


def test_pipeline_data_file_edit_keeping_size_and_mtime(project):
    """A data file rewritten in place with the same size and modification
    time is still a change."""
    pipeline(project)
    cold_and_warm(project)
    path = project.root / "data.csv"
    st = os.stat(path)
    data = path.read_bytes()
    row = data.splitlines(keepends=True)[6]  # x = 0.50
    last = row.rstrip(b"\n")[-1:]
    changed = row[:-2] + bytes([b"0123456789"[(int(last) + 1) % 10]]) + b"\n"
    assert len(changed) == len(row) and changed != row
    with open(path, "r+b") as f:  # same inode
        f.write(data.replace(row, changed, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = os.stat(path)
    assert (st2.st_size, st2.st_mtime_ns, st2.st_ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )
    assert project.run() == stages(
        miss("file changed"),
        miss("argument changed"),
        miss("argument changed"),
        miss("argument changed"),
    )
    assert project.run() == stages(hit(), hit(), hit(), hit())
    # The other way round: a new mtime on the same bytes is no change.
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert project.run() == stages(hit(), hit(), hit(), hit())


# ---------------------------------------------------------------------------
# Project modules, constants, arguments, values


def test_helper_two_modules_deep_edit_misses_every_caller(project):
    project.write(
        "pkg_b.py",
        """
        def b(n):
            return [i * i for i in range(n)]
        """,
    )
    project.write(
        "pkg_a.py",
        """
        import pkg_b


        def a(n):
            return sum(pkg_b.b(n))
        """,
    )
    project.write(
        "main.py",
        """
        import pkg_a
        import pkg_b


        def run(n):
            return pkg_a.a(n) + 1


        def direct(n):
            return len(pkg_b.b(n))


        def unrelated(n):
            return n * 3


        print(run(10), direct(10), unrelated(5))
        """,
    )
    # direct's call of b is the one `a` made and stored: served.
    b_once = counts(hits=1, misses=1, stored=1)
    everything = {
        "__main__.run": miss(),
        "pkg_a.a": miss(),
        "pkg_b.b": b_once,
        "__main__.direct": miss(),
        "__main__.unrelated": miss(),
    }
    assert project.run() == everything
    assert project.run() == {
        "__main__.run": hit(),
        "__main__.direct": hit(),
        "__main__.unrelated": hit(),
    }
    project.edit("pkg_b.py", "i * i", "i * i * i")
    assert project.run() == {
        "__main__.run": miss("callee changed: pkg_b.b"),
        "pkg_a.a": miss("callee changed: pkg_b.b"),
        "pkg_b.b": dict(b_once, reasons={"source changed": 1}),
        "__main__.direct": miss("callee changed: pkg_b.b"),
        "__main__.unrelated": hit(),
    }
    assert project.last.stdout == "2026 10 15\n"
    project.edit("pkg_b.py", "    return [", "    # cubes\n\n    return [")
    assert project.run() == {
        "__main__.run": hit(),
        "__main__.direct": hit(),
        "__main__.unrelated": hit(),
    }


def test_module_constant_edit_misses_its_readers(project):
    project.write(
        "helpers.py",
        """
        SCALE = 2


        def scaled(values):
            return [v * SCALE for v in values]
        """,
    )
    project.write(
        "main.py",
        """
        import helpers

        THRESHOLD = 10


        def above(values):
            return [v for v in values if v > THRESHOLD]


        def through_helper(values):
            return sum(helpers.scaled(values))


        def neither(values):
            return max(values)


        data = list(range(20))
        print(above(data), through_helper(data), neither(data))
        """,
    )
    assert project.run() == {
        "__main__.above": miss(),
        "__main__.through_helper": miss(),
        "helpers.scaled": miss(),
        "__main__.neither": miss(),
    }
    project.edit("main.py", "THRESHOLD = 10", "THRESHOLD = 15")
    assert project.run() == {
        "__main__.above": miss("global changed: THRESHOLD"),
        "__main__.through_helper": hit(),
        "__main__.neither": hit(),
    }
    project.edit("helpers.py", "SCALE = 2", "SCALE = 3")
    assert project.run() == {
        "__main__.above": hit(),
        "__main__.through_helper": miss("global changed: helpers.SCALE"),
        "helpers.scaled": miss("global changed: helpers.SCALE"),
        "__main__.neither": hit(),
    }
    assert project.last.stdout.endswith(" 570 19\n")


def test_global_mutated_between_calls_of_a_run(project):
    project.write("helpers.py", "STATE = [1]\n\n\ndef get():\n    return sum(STATE)\n")
    project.write(
        "main.py",
        """
        import helpers

        CONFIG = {"k": 1}


        def f():
            return CONFIG["k"] * 10


        def g():
            return helpers.get()


        print(f(), g())
        CONFIG["k"] = 2
        helpers.STATE.append(5)
        print(f(), g())
        """,
    )
    assert project.run() == {
        "__main__.f": counts(misses=2, stored=2, reasons={"global changed: CONFIG": 1}),
        "helpers.get": counts(
            misses=2, stored=2, reasons={"global changed: helpers.STATE": 1}
        ),
        "__main__.g": counts(
            misses=2, stored=2, reasons={"global changed: helpers.STATE": 1}
        ),
    }
    assert project.last.stdout == "10 1\n20 6\n"
    project.run()


FUNCTION_ARGUMENTS = """
import functools
import math

SCALE = 2
ADD = lambda k: lambda x: x + k  # noqa: E731


def with_lambda(f, xs):
    return [f(x) for x in xs]


def with_partial(f, xs):
    return [f(x) for x in xs]


def with_list(fs, xs):
    return [[f(x) for x in xs] for f in fs]


data = [1, 4, 9]
print(with_lambda(lambda x: x * SCALE, data))
print(with_partial(functools.partial(pow, exp=2), data))
print(with_list([ADD(1), math.sqrt, abs], data))
"""


def test_functions_passed_as_arguments_are_keyed_by_their_code(project):
    project.write("main.py", FUNCTION_ARGUMENTS)
    assert project.run() == {
        "__main__.with_lambda": miss(),
        "__main__.with_partial": miss(),
        "__main__.with_list": miss(),
    }
    everything_hits = {
        "__main__.with_lambda": hit(),
        "__main__.with_partial": hit(),
        "__main__.with_list": hit(),
    }
    assert project.run() == everything_hits
    # The lambda's code, then a global it reads.
    project.edit("main.py", "lambda x: x * SCALE", "lambda x: x * SCALE + 1")
    assert project.run() == {
        **everything_hits,
        "__main__.with_lambda": miss("argument changed"),
    }
    project.edit("main.py", "SCALE = 2", "SCALE = 3")
    assert project.run() == {
        **everything_hits,
        "__main__.with_lambda": miss("global changed: SCALE"),
    }
    # A partial's bound keyword; a closure's cell, inside a list.
    project.edit("main.py", "exp=2", "exp=3")
    project.edit("main.py", "ADD(1)", "ADD(2)")
    assert project.run() == {
        **everything_hits,
        "__main__.with_partial": miss("argument changed"),
        "__main__.with_list": miss("argument changed"),
    }
    assert (
        project.last.stdout
        == "[4, 13, 28]\n[1, 64, 729]\n[[3, 6, 11], [1.0, 2.0, 3.0], [1, 4, 9]]\n"
    )
    assert project.run() == everything_hits


FUNCTIONS_INSIDE_OBJECTS = """
import dataclasses


@dataclasses.dataclass
class Step:
    name: str
    fn: object


def run_steps(steps, x):
    for step in steps:
        x = step.fn(x)
    return x


steps = [Step("double", lambda v: v * 2), Step("inc", lambda v: v + 1)]
print(run_steps(steps, 5))
"""


def test_functions_inside_pickled_objects_are_keyed_by_their_code(project):
    project.write("main.py", FUNCTIONS_INSIDE_OBJECTS)
    assert project.run() == {"__main__.run_steps": miss()}
    assert project.run() == {"__main__.run_steps": hit()}
    project.edit("main.py", "lambda v: v + 1", "lambda v: v + 2")
    assert project.run() == {"__main__.run_steps": miss("argument changed")}
    assert project.last.stdout == "12\n"


def test_a_recursive_closure_as_an_argument(project):
    project.write(
        "main.py",
        """
        def make(k):
            def fact(n):
                return k if n < 2 else n * fact(n - 1)

            return fact


        FACTS = {k: make(k) for k in (1, 2)}


        def use(f, n):
            return f(n)


        print(use(FACTS[1], 5), use(FACTS[2], 5))
        """,
    )
    first = project.run()
    assert first["__main__.use"] == counts(
        misses=2, stored=2, reasons={"argument changed": 1}
    )
    assert project.run()["__main__.use"] == hit(2)
    assert project.last.stdout == "120 240\n"


def test_nested_function_read_as_a_global_hits_on_warm_runs(project):
    # A function rote does not wrap (nested, made by a factory) and that a
    # wrapped one reads as a global: its identity must not depend on whether
    # its code was compiled afresh or loaded from rote's compiled cache.
    project.write(
        "main.py",
        """
        def _factory(k):
            def scale(v):
                return [x * k for x in v]

            return scale


        SCALE = _factory(3)


        def top(v):
            return sum(SCALE(v))


        print(top([1, 2, 3]))
        """,
    )
    first = project.run()
    assert first["__main__.top"] == miss()
    for _ in range(2):
        assert project.run()["__main__.top"] == hit()
    project.edit("main.py", "x * k", "x * k + 1")
    assert project.run()["__main__.top"]["misses"] == 1
    assert project.last.stdout == "21\n"


CODE_INSIDE_VALUES = """
import functools


@functools.lru_cache
def helper(x):
    return x * 2


STEPS = [helper]


class Shape:
    unit = 1

    def __init__(self, side):
        self.side = side

    @property
    def area(self):
        return self.side * self.side


def run(v):
    return [step(v) for step in STEPS]


def measure(shape):
    return shape.area * shape.unit


print(run(10), measure(Shape(3)))
"""


def test_code_inside_globals_and_arguments_is_part_of_the_key(project):
    # Functions rote does not wrap (cached, properties), reached through a
    # global list or an argument's class, and class-level data: pickled by
    # name they would look unchanged after an edit.
    project.write("main.py", CODE_INSIDE_VALUES)
    both = {"__main__.run": miss(), "__main__.measure": miss()}
    assert project.run() == both
    assert project.run() == {"__main__.run": hit(), "__main__.measure": hit()}
    project.edit("main.py", "return x * 2", "return x * 3")
    assert project.run() == {
        "__main__.run": miss("global changed: STEPS"),
        "__main__.measure": hit(),
    }
    project.edit("main.py", "self.side * self.side", "self.side * self.side + 1")
    assert project.run() == {
        "__main__.run": hit(),
        "__main__.measure": miss("argument changed"),
    }
    project.edit("main.py", "unit = 1", "unit = 2")
    assert project.run() == {
        "__main__.run": hit(),
        "__main__.measure": miss("argument changed"),
    }
    assert project.last.stdout == "[30] 20\n"


def test_positional_and_keyword_calls_share_an_entry(project):
    project.write(
        "main.py",
        """
        import sys


        def f(x, y=2):
            return [x, y, x * y]


        style = sys.argv[1]
        if style == "positional":
            print(f(1))
        elif style == "keyword":
            print(f(x=1))
        else:
            print(f(1, y=2), f(y=2, x=1), f(1, 2))
        """,
    )
    assert project.run("main.py", "positional") == {"__main__.f": miss()}
    assert project.run("main.py", "keyword") == {"__main__.f": hit()}
    assert project.run("main.py", "defaults") == {"__main__.f": hit(3)}


def test_mutating_a_returned_value_does_not_reach_the_cache(project):
    project.write(
        "main.py",
        """
        import numpy as np


        def make(n):
            return {"items": list(range(n)), "nested": [[0], [1]]}


        def arr(n):
            return np.arange(n)


        first = make(3)
        first["items"].append(99)
        first["nested"][0].append(-1)
        first["extra"] = True
        second = make(3)
        a = arr(4)
        a += 10
        b = arr(4)
        print(first)
        print(second)
        print(a, b)
        """,
    )
    # The second call of each is served: the caller's changes are not in it.
    assert project.run() == {
        "__main__.make": counts(hits=1, misses=1, stored=1),
        "__main__.arr": counts(hits=1, misses=1, stored=1),
    }
    assert project.run() == {"__main__.make": hit(2), "__main__.arr": hit(2)}
    assert project.last.stdout.splitlines()[1:] == [
        "{'items': [0, 1, 2], 'nested': [[0], [1]]}",
        "[10 11 12 13] [0 1 2 3]",
    ]


def test_mutated_argument_is_a_new_call(project):
    project.write(
        "main.py",
        """
        def total(values):
            return sum(values)


        data = [1, 2, 3]
        print(total(data))
        data.append(4)
        print(total(data))
        """,
    )
    # The second call's argument is new: `argument changed`.
    first = counts(misses=2, stored=2, reasons={"argument changed": 1})
    assert project.run() == {"__main__.total": first}
    assert project.run() == {"__main__.total": hit(2)}
    assert project.last.stdout == "6\n10\n"


# ---------------------------------------------------------------------------
# Output, files, errors

OUTPUT_SCRIPT = """
import sys


def inner(n):
    print(f"inner {n}", end=";")
    sys.stdout.write(" ünïcode ✓\\n")
    print("inner to stderr", n, file=sys.stderr)
    return n * 2


def outer(n):
    print("outer start")
    value = inner(n) + inner(n + 1)
    print("outer end", value, flush=True)
    return value


def quiet(n):
    return n + 1


print("module before")
print(outer(1))
print("module between")
print(inner(5), quiet(1))
print("module after")
"""


@pytest.mark.parametrize("mode", ENV_MODES)
def test_output_of_cached_calls_is_replayed(tmp_path, mode):
    project = Project(tmp_path, mode)
    project.write("main.py", OUTPUT_SCRIPT)
    assert project.run() == {
        "__main__.outer": miss(),
        "__main__.inner": counts(misses=3, stored=3, reasons={"argument changed": 2}),
        "__main__.quiet": miss(),
    }
    warm = {"__main__.outer": hit(), "__main__.inner": hit(), "__main__.quiet": hit()}
    assert project.run() == warm
    assert project.last.stdout.count("inner 1;") == 1
    assert project.last.stderr.count("inner to stderr") == 3
    # The outer call runs again; the inner ones it makes are served, their
    # output in its place.
    project.edit("main.py", 'print("outer start")', 'print("outer begins")')
    assert project.run() == {
        "__main__.outer": miss("source changed"),
        "__main__.inner": hit(3),
        "__main__.quiet": hit(),
    }
    # ... and what it stored replays the served calls' output too.
    assert project.run() == warm
    assert (
        "outer begins\ninner 1; ünïcode ✓\ninner 2; ünïcode ✓\n" in project.last.stdout
    )


def test_nested_file_read_edit_misses_inner_and_outer(project):
    project.write("numbers.txt", "1 2 3\n4 5 6\n")
    project.write(
        "main.py",
        """
        def read_numbers(path):
            with open(path) as f:
                return [int(tok) for tok in f.read().split()]


        def analyse(path):
            values = read_numbers(path)
            return {"n": len(values), "total": sum(values)}


        def constant():
            return 42


        print(analyse("numbers.txt"), constant())
        """,
    )
    assert project.run() == {
        "__main__.analyse": miss(),
        "__main__.read_numbers": miss(),
        "__main__.constant": miss(),
    }
    assert project.run() == {"__main__.analyse": hit(), "__main__.constant": hit()}
    project.write("numbers.txt", "1 2 3\n4 5 7\n")
    assert project.run() == {
        "__main__.analyse": miss("file changed"),
        "__main__.read_numbers": miss("file changed"),
        "__main__.constant": hit(),
    }
    assert project.last.stdout == "{'n': 6, 'total': 22} 42\n"
    assert project.run() == {"__main__.analyse": hit(), "__main__.constant": hit()}


@pytest.mark.parametrize("mode", ENV_MODES)
def test_exception_is_not_stored_and_traceback_matches_python(tmp_path, mode):
    project = Project(tmp_path, mode)
    project.write(
        "helpers.py",
        """
        def check(x):
            if x > 1:
                raise ValueError(f"bad value {x}")
            return x
        """,
    )
    project.write(
        "main.py",
        """
        import helpers


        def step(x):
            print("step", x)
            return helpers.check(x) * 10


        try:
            step(5)
        except ValueError as e:
            print("caught:", e)
        print(step(1))
        step(7)
        print("not reached")
        """,
    )
    # step(5) raises, step(1) is stored, step(7) (new argument) raises.
    first = counts(misses=3, stored=1, reasons={"raised": 2, "argument changed": 1})
    expected = {"__main__.step": first, "helpers.check": first}
    assert project.run(returncode=1) == expected
    tb = project.last.stderr
    assert tb.startswith("Traceback (most recent call last):\n")
    assert 'helpers.py", line 3, in check' in tb
    assert 'raise ValueError(f"bad value {x}")' in tb
    assert tb.endswith("ValueError: bad value 7\n")
    # The raising calls run again; the one that returned is served.
    again = counts(misses=2, reasons={"raised": 2, "argument changed": 2})
    assert project.run(returncode=1) == {
        "__main__.step": dict(again, hits=1),
        "helpers.check": again,
    }


@pytest.mark.parametrize("mode", ENV_MODES)
def test_function_writing_a_file_is_not_stored(tmp_path, mode):
    project = Project(tmp_path, mode)
    project.write(
        "main.py",
        """
        def save(path, n):
            with open(path, "a") as f:
                f.write(f"line {n}\\n")
            return n


        def save_twice(path):
            return save(path, 1) + save(path, 2)


        def pure(n):
            return n * n


        print(save_twice("out.txt"), pure(4))
        with open("out.txt") as f:
            print(len(f.readlines()), "lines")
        """,
    )
    not_stored = {
        "__main__.save_twice": miss(stored="appends to file: out.txt"),
        "__main__.save": miss(n=2, stored="appends to file: out.txt"),
        "__main__.pure": miss(),
    }
    assert project.run() == not_stored
    assert project.read("out.txt") == "line 1\nline 2\n"
    not_stored["__main__.pure"] = hit()
    assert project.run() == not_stored
    assert project.run() == not_stored
    assert project.read("out.txt") == "line 1\nline 2\n" * 3
    assert project.last.stdout == "3 16\n6 lines\n"


def _tree(root, bytecode=False):
    """Files under `root` (not the cache): bytes and mtime; only those in
    `__pycache__` with `bytecode`, else all the others."""
    out = {}
    for p in sorted(root.rglob("*")):
        parts = p.relative_to(root).parts
        if (
            p.is_file()
            and ".rote" not in parts
            and ("__pycache__" in parts) == bytecode
        ):
            out[p.relative_to(root).as_posix()] = (
                p.read_bytes(),
                os.stat(p).st_mtime_ns,
            )
    return out


def _bytecode_project(root, mode):
    project = Project(root, mode)
    project.write("helpers.py", "def double(x):\n    return 2 * x\n")
    project.write("pkg/__init__.py", "from .core import triple\n")
    project.write("pkg/core.py", "def triple(x):\n    return 3 * x\n")
    project.write(
        "main.py",
        """
        import helpers
        import pkg


        def compute(x):
            return helpers.double(x) + pkg.triple(x)


        print(compute(2))
        """,
    )
    return project


@pytest.mark.parametrize("dont_write", [False, True], ids=["bytecode", "no-bytecode"])
def test_script_untouched_and_bytecode_as_python_writes_it(tmp_path, dont_write):
    """rote rewrites in memory: the script and the project's modules stay
    byte for byte and time for time as they were. `__pycache__` is what
    python leaves: the same files, byte for byte (plain, not rewritten,
    code: python loads them later), or none under PYTHONDONTWRITEBYTECODE."""
    project = _bytecode_project(tmp_path / "proj", "bare")
    if dont_write:
        project.env["PYTHONDONTWRITEBYTECODE"] = "1"
    sources = _tree(project.root)
    for _ in range(2):
        r = project.rote()
        assert (r.returncode, r.stdout, r.stderr) == (0, "10\n", "")
    assert project.status() == {"__main__.compute": hit()}
    assert _tree(project.root) == sources
    assert project.cache.is_dir()

    # Bytecode embeds absolute paths: python runs in the same tree, after
    # rote's bytecode is moved out of the way.
    by_rote = {k: v[0] for k, v in _tree(project.root, bytecode=True).items()}
    for d in list(project.root.rglob("__pycache__")):
        shutil.rmtree(d)
    p = project.python()
    assert (p.returncode, p.stdout, p.stderr) == (0, "10\n", "")
    by_python = {k: v[0] for k, v in _tree(project.root, bytecode=True).items()}
    assert by_rote == by_python
    tag = sys.implementation.cache_tag
    expected = {
        f"__pycache__/helpers.{tag}.pyc",
        f"pkg/__pycache__/__init__.{tag}.pyc",
        f"pkg/__pycache__/core.{tag}.pyc",
    }
    assert by_python.keys() == (set() if dont_write else expected)

    # Where python left its bytecode, rote still memoizes the modules.
    shutil.rmtree(project.cache)
    assert project.run() == {
        "__main__.compute": miss(),
        "helpers.double": miss(),
        "pkg.core.triple": miss(),
    }
    assert project.run() == {"__main__.compute": hit()}
    assert _tree(project.root) == sources


def test_method_edit_misses_its_callers(project):
    project.write(
        "main.py",
        """
        class Model:
            def __init__(self, k):
                self.k = k

            def scale(self, x):
                return x * self.k

            def fit(self, xs):
                print("fitting", self.k)
                return [self.scale(x) for x in xs]


        print(Model(3).fit([1, 2]))
        print(Model(3).fit([1, 2]))
        """,
    )
    assert project.run() == {
        "__main__.Model.fit": counts(hits=1, misses=1, stored=1),
        "__main__.Model.scale": counts(
            misses=2, stored=2, reasons={"argument changed": 1}
        ),
    }
    assert project.run() == {"__main__.Model.fit": hit(2)}
    project.edit("main.py", "return x * self.k", "return x * self.k * 2")
    assert project.run() == {
        "__main__.Model.fit": counts(
            hits=1, misses=1, stored=1, reasons={"callee changed: Model.scale": 1}
        ),
        "__main__.Model.scale": counts(
            misses=2, stored=2, reasons={"source changed": 2}
        ),
    }
    # The instance is an argument: what __init__ puts in it counts.
    project.edit("main.py", "self.k = k\n", "self.k = k + 1\n")
    assert project.run()["__main__.Model.fit"] == counts(
        hits=1, misses=1, stored=1, reasons={"argument changed": 1}
    )
    assert project.last.stdout == "fitting 4\n[8, 16]\nfitting 4\n[8, 16]\n"


# ---------------------------------------------------------------------------
# Known bugs: each test states what python does and fails until rote does it.

# function, call, what to print after the caller appended 3 to the value
ALIASES = {
    "part of an argument": (
        "def pick(c):\n    return c['items']\n",
        "pick(cfg)",
        "cfg",
    ),
    "the argument": ("def same(x):\n    return x\n", "same(cfg['items'])", "cfg"),
    "a module global": (
        "def registry():\n    return REGISTRY\n",
        "registry()",
        "REGISTRY",
    ),
}
ALIASED = {"cfg": "{'items': [1, 2, 3]}\n", "REGISTRY": "[1, 2, 3]\n"}


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_returned_alias_of_argument_or_global(project, alias):
    func, call, shown = ALIASES[alias]
    project.write(
        "main.py",
        "REGISTRY = [1, 2]\ncfg = {'items': [1, 2]}\n\n\n"
        + func
        + f"\n\nvalue = {call}\nvalue.append(3)\nprint({shown})\n",
    )
    project.run()
    assert project.last.stdout == ALIASED[shown]
    project.run()  # served: must print the same


def test_source_edit_is_the_reason_for_every_argument(project):
    project.write(
        "main.py",
        """
        def f(x):
            return x + 1


        print(f(1), f(2))
        """,
    )
    project.run()
    project.edit("main.py", "x + 1", "x + 2")
    assert project.run() == {"__main__.f": miss("source changed", n=2)}


def test_logging_of_a_cached_call_is_replayed(project):
    project.write(
        "main.py",
        """
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(message)s")


        def compute(n):
            logging.info("computing %d", n)
            return n * n


        print(compute(4))
        """,
    )
    assert project.run() == {"__main__.compute": miss()}
    assert project.last.stderr == "INFO:computing 4\n"
    project.run()  # stderr must again be python's


FLUSH_SCRIPT = """
import sys


def stage(n):
    print("stage", n, "done", flush=True)
    return n


stage(1)
print("progress on stderr", file=sys.stderr)
stage(2)
"""


@pytest.mark.parametrize(
    "unbuffered",
    [
        pytest.param(True, id="unbuffered"),
        pytest.param(False, id="buffered"),
    ],
)
def test_replayed_output_keeps_its_place_among_stderr(tmp_path, unbuffered):
    project = Project(tmp_path, "bare")
    if unbuffered:
        project.env["PYTHONUNBUFFERED"] = "1"
    project.write("main.py", FLUSH_SCRIPT)
    order = "stage 1 done\nprogress on stderr\nstage 2 done\n"
    project.run(merged=True)
    assert project.last.stdout == order
    assert project.run(merged=True) == {"__main__.stage": hit(2)}
    assert project.last.stdout == order


def _perturb_argv(project):
    return ("main.py", "second")


def _perturb_environ(project):
    project.env["E2E_MODE"] = "second"
    return ("main.py", "first")


def _perturb_exists(project):
    project.write("flag", "")
    return ("main.py", "first")


def _perturb_size(project):
    project.write("data.txt", "first, then more\n")
    return ("main.py", "first")


STALE = {
    "sys.argv": ("import sys", "sys.argv[1]", _perturb_argv),
    "os.environ": (
        "import os",
        'os.environ.get("E2E_MODE", "first")',
        _perturb_environ,
    ),
    "os.path.exists": ("import os", 'os.path.exists("flag")', _perturb_exists),
    "os.path.getsize": ("import os", 'os.path.getsize("data.txt")', _perturb_size),
}


@pytest.mark.parametrize("what", sorted(STALE))
def test_what_a_call_reads_outside_files_and_globals(project, what):
    imports, expression, perturb = STALE[what]
    project.write("data.txt", "first\n")
    project.write(
        "main.py",
        f"""
        {imports}


        def read():
            return {expression}


        print(read())
        """,
    )
    assert project.run("main.py", "first") == {"__main__.read": miss()}
    project.run(*perturb(project))


def test_unseeded_random_is_not_replayed(project):
    project.write(
        "main.py",
        """
        import random


        def draw():
            return random.random()


        print(draw())
        """,
    )
    seen = {project.rote().stdout for _ in range(3)}
    assert len(seen) == 3


# ---------------------------------------------------------------------------
# Code outside the script's folder, workers, compiled readers, the terminal


def test_pythonpath_module_is_project_code(project):
    """A module found through PYTHONPATH (as an editable install's path entry
    would be) is rewritten too: editing it misses its callers."""
    lib = project.root / "lib"
    project.write(
        "lib/shared.py",
        """
        def double(x):
            return x * 2
        """,
    )
    project.write(
        "app/main.py",
        """
        import shared


        def stage(x):
            return shared.double(x) + 1


        print(stage(20))
        """,
    )
    project.env["PYTHONPATH"] = str(lib)
    assert project.run("app/main.py")["__main__.stage"] == miss()
    assert project.run("app/main.py") == {"__main__.stage": hit()}
    project.edit("lib/shared.py", "x * 2", "x * 3")
    report = project.run("app/main.py")
    assert report["__main__.stage"] == miss("callee changed: shared.double")
    assert project.last.stdout == "61\n"


MULTIPROCESSING = """
import multiprocessing as mp


def square(x):
    return x * x


def pooled(method, n):
    with mp.get_context(method).Pool(2) as pool:
        return pool.map(square, range(n))


if __name__ == "__main__":
    print(square(7))
    for method in ("fork", "spawn", "forkserver"):
        print(method, pooled(method, 5))
"""


def test_wrapped_functions_work_in_multiprocessing_workers(project):
    """Wrapped functions pickle by reference and run in fork, spawn and
    forkserver workers; the output is python's on a cold and a warm run."""
    project.write("main.py", MULTIPROCESSING)
    project.run()
    report = project.run()
    assert report["__main__.square"]["hits"] == 1


def test_parquet_read_by_compiled_code_is_a_dependency(project):
    """pyarrow reads the file in C++ (no Python open): rewriting it between
    runs is still a miss, and the output is python's."""
    pytest.importorskip("pyarrow")
    project.write(
        "make.py",
        """
        import sys
        import pandas as pd

        pd.DataFrame({"a": range(int(sys.argv[1]))}).to_parquet("data.parquet")
        """,
    )
    project.write(
        "main.py",
        """
        import pyarrow.parquet as pq


        def total(path):
            return int(pq.read_table(path).column("a").to_numpy().sum())


        print(total("data.parquet"))
        """,
    )
    assert project.python("make.py", "100").returncode == 0
    assert project.run() == {"__main__.total": miss()}
    assert project.run() == {"__main__.total": hit()}
    assert project.python("make.py", "200").returncode == 0
    assert project.run() == {"__main__.total": miss("file changed")}
    assert project.last.stdout == "19900\n"


def test_summary_line_on_a_terminal(project):
    """With stderr on a terminal, a run ends with one summary line; `-q`
    silences it; on a pipe there is none (checked by every other test)."""
    import pty

    project.write(
        "main.py",
        """
        import time


        def slow():
            time.sleep(0.05)
            return 1


        print(slow())
        """,
    )

    def on_tty(*flags):
        argv = [ROTE, "run", "--cache-dir", str(project.cache), "--min-duration", "0"]
        leader, follower = pty.openpty()
        try:
            subprocess.run(
                [*argv, *flags, "main.py"],
                cwd=project.root,
                env=project.env,
                stdout=subprocess.DEVNULL,
                stderr=follower,
                timeout=TIMEOUT,
                check=True,
            )
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(leader)
        return b"".join(chunks).decode().replace("\r\n", "\n")

    assert on_tty() == "rote: 0 hits; 1 miss; 1 stored\n"
    warm = on_tty()
    assert warm.startswith("rote: 1 hit, saved 0.") and warm.endswith(" s\n"), warm
    assert on_tty("-q") == ""
