"""The purity judge, one rule at a time: a candidate that does the impure
thing (and prints nothing that depends on it, so that the comparison with
plain python is exact) is never stored, for the reason recorded exactly, on
every run; the same when the impure call is inside a pure-looking outer one.
Environment reads are dependencies instead: stored, and missed when the
variable changes."""

import subprocess

import pytest
from test_memo_e2e import Project, counts, hit, miss


class QuietProject(Project):
    """Runs with standard input at end of file, so that `input()` and reads
    of stdin return at once under rote and under python."""

    def _run(self, argv, env=None, merged=False):
        p = subprocess.run(
            argv,
            check=False,
            cwd=self.root,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
        )
        from test_memo_e2e import Run

        return Run(p.stdout, p.stderr or "", p.returncode)


@pytest.fixture
def project(tmp_path):
    return QuietProject(tmp_path)


# rule: (module-level set-up, the impure statement, the reason)
RULES = {
    "time.perf_counter": (
        "import time",
        "time.perf_counter()",
        "calls impure stdlib: time.perf_counter",
    ),
    "time.monotonic": (
        "import time",
        "time.monotonic()",
        "calls impure stdlib: time.monotonic",
    ),
    "time.process_time": (
        "import time",
        "time.process_time()",
        "calls impure stdlib: time.process_time",
    ),
    "perf_counter alias": (
        "from time import perf_counter as timer",
        "timer()",
        "calls impure stdlib: time.perf_counter",
    ),
    "os.getpid": ("import os", "os.getpid()", "calls impure stdlib: os.getpid"),
    "time.time": ("import time", "time.time()", "reads the clock"),
    "datetime.now": ("import datetime", "datetime.datetime.now()", "reads the clock"),
    "date.today": ("import datetime", "datetime.date.today()", "reads the clock"),
    "random.random": ("import random", "random.random()", "uses global random state"),
    "numpy.random.rand": (
        "import numpy as np",
        "np.random.rand()",
        "uses global random state",
    ),
    "uuid.uuid4": ("import uuid", "uuid.uuid4()", "reads randomness"),
    "os.urandom": ("import os", "os.urandom(8)", "reads randomness"),
    "secrets.token_hex": ("import secrets", "secrets.token_hex(8)", "reads randomness"),
    "input": (
        "",
        "try:\n        input()\n    except EOFError:\n        pass",
        "reads input",
    ),
    "sys.stdin.read": ("import sys", "sys.stdin.read()", "reads stdin"),
    "exec": ("", 'exec("y = 1", {})', "runs dynamic code"),
    "eval": ("", 'eval("1 + 1")', "runs dynamic code"),
    "compile": ("", 'compile("1", "<s>", "eval")', "runs dynamic code"),
    "threading": (
        "import threading",
        (
            "t = threading.Thread(target=print, args=('',), kwargs={'end': ''})\n"
            "    t.start()\n    t.join()"
        ),
        "starts a thread",
    ),
    "os.system": ("import os", 'os.system("true")', "starts a process"),
    "subprocess.run": (
        "import subprocess",
        'subprocess.run(["true"])',
        "starts a process",
    ),
    "socket.connect": (
        "import socket",
        (
            "s = socket.socket()\n    try:\n        s.connect(('127.0.0.1', 9))\n"
            "    except OSError:\n        pass\n    s.close()"
        ),
        "network",
    ),
    "os.chdir": ("import os", "os.chdir(os.getcwd())", "changes directory"),
    "os.putenv": ("import os", 'os.environ["JUDGE_SET"] = "1"', "changes environment"),
    "ctypes": (
        "import ctypes",
        "ctypes.CDLL(None).abs(-1)",
        "calls C code through ctypes",
    ),
    "global mutated": ("G = []", "G.append(1)", "mutates global: G"),
}


def _script(setup, statement, nested):
    inner = f"""
def impure(n):
    {statement}
    return n * 2
"""
    outer = (
        """

def outer(n):
    return impure(n) + 1


print("outer", outer(3))
"""
        if nested
        else """

print("value", impure(3))
"""
    )
    return f"{setup}\n\n{inner}{outer}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_impure_call_is_never_stored(project, rule):
    setup, statement, reason = RULES[rule]
    project.write("main.py", _script(setup, statement, nested=False))
    for _ in range(2):
        assert project.run() == {
            "__main__.impure": counts(misses=1, reasons={reason: 1})
        }


@pytest.mark.parametrize("rule", sorted(RULES))
def test_impure_inner_call_taints_the_outer_one(project, rule):
    setup, statement, reason = RULES[rule]
    if reason.startswith("mutates global"):
        # The inner call mutated it; the outer one only called that.
        pytest.skip("covered by the memoization suite's global-write tests")
    project.write("main.py", _script(setup, statement, nested=True))
    expected = {
        "__main__.impure": counts(misses=1, reasons={reason: 1}),
        "__main__.outer": counts(misses=1, reasons={reason: 1}),
    }
    for _ in range(2):
        assert project.run() == expected


PURE = {
    "seeded Random": ("import random", "random.Random(7).random()"),
    "default_rng": ("import numpy as np", "np.random.default_rng(42).random()"),
    "time.sleep": ("import time", "time.sleep(0.01)"),
    "ast.parse": ("import ast", 'ast.parse("x = 1")'),
    "logging": (
        "import logging\nlogging.basicConfig(format='%(message)s')",
        'logging.getLogger("judge").warning("a log line")',
    ),
}


@pytest.mark.parametrize("case", sorted(PURE))
def test_deterministic_look_alikes_are_stored(project, case):
    """A seeded generator, a sleep, a parse, a log line: none of them makes
    the call impure; the second run is a hit."""
    setup, statement = PURE[case]
    project.write("main.py", _script(setup, statement, nested=False))
    assert project.run() == {"__main__.impure": miss()}
    assert project.run() == {"__main__.impure": hit()}


def test_clock_passed_as_an_argument_is_not_a_key(project):
    """A clock handed in is called through a site no watch covers: the call
    is not a candidate."""
    project.write(
        "main.py",
        """
        import time


        def timed(clock):
            clock()
            return 1


        print(timed(time.perf_counter))
        """,
    )
    for _ in range(2):
        assert project.run() == {
            "__main__.timed": counts(reasons={"argument not fingerprintable": 1})
        }


ENV_SCRIPT = """
import json


def settings(path):
    with open(path) as f:
        return json.load(f)


def mode(config):
    import os

    # A library's own read, through `os.environ`.
    home = os.path.expanduser("~")
    return config["name"] + ":" + os.environ.get("JUDGE_MODE", "unset") + ":" + str(len(home) > 0)


print("mode", mode(settings("config.json")))
"""


def test_environment_reads_are_dependencies(project):
    """A variable read through `os.environ` is a dependency: hits while it
    holds, a miss when it changes, and the new value printed as python
    prints it."""
    project.write("config.json", '{"name": "run"}')
    project.write("main.py", ENV_SCRIPT)
    project.env["JUDGE_MODE"] = "a"
    assert project.run() == {"__main__.settings": miss(), "__main__.mode": miss()}
    assert project.run() == {"__main__.settings": hit(), "__main__.mode": hit()}
    assert project.last.stdout == "mode run:a:True\n"
    project.env["JUDGE_MODE"] = "b"
    report = project.run()
    assert report["__main__.settings"] == hit()
    assert report["__main__.mode"] == miss("environment changed: JUDGE_MODE")
    assert project.last.stdout == "mode run:b:True\n"
    # HOME, read inside `os.path.expanduser`, counts too.
    project.env["HOME"] = str(project.root)
    report = project.run()
    assert report["__main__.mode"] == miss("environment changed: HOME")


AUDIT_HOOK = """
import sys

seen = []


def hook(event, args):
    if event == "judge.ping":
        seen.append(args)


sys.addaudithook(hook)


def work(n):
    sys.audit("judge.ping", n)
    return n + 1


print(work(1), work(2), len(seen))
"""


def test_an_audit_hook_defined_in_the_script_runs_as_in_python(project):
    """The script's own audit hook (a top-level function, so wrapped) is
    called for the events rote's bookkeeping raises too: it runs plainly
    then, instead of recursing into the wrapper without end."""
    project.write("main.py", AUDIT_HOOK)
    project.run()
    assert project.last.stdout == "2 3 2\n"
