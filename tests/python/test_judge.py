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

    stdin = subprocess.DEVNULL


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
    "thread left running": (
        "import threading\nimport time",
        "threading.Thread(target=time.sleep, args=(0.3,), daemon=True).start()",
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
    "file left open": (
        "import os",
        'os.open("left.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)',
        "writes file left open: left.txt",
    ),
    "append": (
        "",
        'with open("log.txt", "a") as f:\n        f.write("x")',
        "appends to file: log.txt",
    ),
    "read-write": (
        'open("rw.txt", "w").write("0")',
        'with open("rw.txt", "r+") as f:\n        f.write("1")',
        "opens file read-write: rw.txt",
    ),
    "read, then write back": (
        'open("rt.txt", "w").write("0")',
        'old = open("rt.txt").read()\n    open("rt.txt", "w").write(old + "1")',
        "reads and writes file: rt.txt",
    ),
    "directory made, nothing in it": (
        "import os",
        'os.makedirs("made", exist_ok=True)',
        "makes directory: made",
    ),
    "removes a file it did not write": (
        'import os\nopen("victim.txt", "w").write("v")',
        'os.remove("victim.txt")',
        "modifies files",
    ),
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
    "thread started and joined": (
        "import threading",
        (
            "t = threading.Thread(target=print, args=('',), kwargs={'end': ''})\n"
            "    t.start()\n    t.join()"
        ),
    ),
    "tqdm progress bar": (
        # Drawn into a buffer: its rates differ from run to run.
        "import io\nfrom tqdm import tqdm",
        "for _ in tqdm(range(3), file=io.StringIO(), mininterval=0):\n        pass",
    ),
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


OUTPUTS = """
import json
import os

import pandas as pd


def save_text(n):
    with open("out/report.txt", "w") as f:
        f.write(f"n = {n}\\n")
    return n


def save_json(n):
    # Written to a temp name, then renamed over the final one.
    with open("out/tmp.json", "w") as f:
        json.dump({"n": n}, f)
    os.replace("out/tmp.json", "out/result.json")
    return n


def save_parquet(n):
    # Written by compiled code (Arrow), not by Python's open().
    pd.DataFrame({"x": list(range(n))}).to_parquet("out/table.parquet")
    return n


def pipeline(n):
    os.makedirs("out", exist_ok=True)
    return save_text(n) + save_json(n) + save_parquet(n)


print(pipeline(4))
"""


def test_files_written_and_closed_are_outputs_put_back_on_a_hit(project):
    """A file a call writes from scratch and closes (through Python, through
    a temp file and a rename, through compiled code) is stored with the
    call; on a hit, a file that is missing or changed is put back, so the
    tree after a warm run is the tree after a plain run."""
    project.write("main.py", OUTPUTS)
    stages = [
        "__main__.pipeline",
        "__main__.save_text",
        "__main__.save_json",
        "__main__.save_parquet",
    ]
    assert project.run() == {name: miss() for name in stages}
    written = {k: v for k, v in project.files().items() if k.startswith("out/")}
    assert sorted(written) == ["out/report.txt", "out/result.json", "out/table.parquet"]

    warm = {"__main__.pipeline": hit()}
    assert project.run() == warm
    # Missing: the outer hit puts back everything its inner calls wrote.
    for rel in written:
        (project.root / rel).unlink()
    assert project.run() == warm
    assert {k: v for k, v in project.files().items() if k.startswith("out/")} == written
    # Changed by hand: put back as the call left it.
    (project.root / "out/report.txt").write_text("edited\n")
    assert project.run() == warm
    assert project.read("out/report.txt") == "n = 4\n"


def test_a_damaged_kept_copy_is_a_miss_and_the_call_runs_again(project):
    project.write("main.py", OUTPUTS)
    project.run()
    (project.root / "out/report.txt").unlink()
    # Damage every kept copy of the text file (same size, other bytes).
    for blob in (project.cache / "v1" / "blobs").rglob("*"):
        if blob.is_file() and blob.read_bytes() == b"n = 4\n":
            blob.chmod(0o600)
            blob.write_bytes(b"n = 5\n")
    report = project.run()
    assert report["__main__.pipeline"] == miss("output missing from cache")
    assert project.read("out/report.txt") == "n = 4\n"


SHUTIL = """
import shutil


def publish(name):
    with open("draft.txt", "w") as f:
        f.write(name + "\\n")
    shutil.move("draft.txt", "final.txt")
    shutil.copyfile("final.txt", "copy.txt")
    return name


print(publish("v1"))
"""


def test_shutil_copies_and_moves_of_its_own_files_are_outputs(project):
    """`shutil.move` and `shutil.copyfile` count for what they do: a write
    moved to its final name and a copy of it are the call's outputs."""
    project.write("main.py", SHUTIL)
    assert project.run() == {"__main__.publish": miss()}
    (project.root / "final.txt").unlink()
    (project.root / "copy.txt").unlink()
    assert project.run() == {"__main__.publish": hit()}
    assert project.read("final.txt") == project.read("copy.txt") == "v1\n"
    assert not (project.root / "draft.txt").exists()


EXISTS = """
import os


def make(path):
    if os.path.exists(path):
        return "found"
    with open(path, "w") as f:
        f.write("x")
    return "made"


print(make("flag.txt"))
"""


def test_a_call_that_looked_for_its_output_first_runs_again_when_it_is_there(project):
    """A call that checked for a path and then wrote it would take the other
    branch once the path exists: its entry misses (`file appeared`) instead
    of putting the file back and answering as if it were absent."""
    project.write("main.py", EXISTS)
    assert project.run() == {"__main__.make": miss()}
    assert project.last.stdout == "made\n"
    # flag.txt is there now: python finds it, so must rote.
    assert project.run() == {"__main__.make": miss("file appeared")}
    assert project.last.stdout == "found\n"
    assert project.run() == {"__main__.make": hit()}
    # Gone again: the stored "found" no longer holds.
    (project.root / "flag.txt").unlink()
    assert project.run() == {"__main__.make": miss("file changed")}
    assert project.last.stdout == "made\n"


POOL = """
from concurrent.futures import ThreadPoolExecutor


def read_one(path):
    with open(path) as f:
        return f.read().strip()


def read_all(paths):
    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(read_one, paths))


print(read_all(["a.txt", "b.txt"]))
"""


def test_what_calls_on_a_pool_s_threads_read_is_the_enclosing_call_s(project):
    """Threads started and joined inside a call are fine, and what the
    project functions they run depend on (here, files) is the enclosing
    call's too: editing one of the files misses it."""
    project.write("a.txt", "alpha\n")
    project.write("b.txt", "beta\n")
    project.write("main.py", POOL)
    report = project.run()
    assert report["__main__.read_all"] == miss()
    assert project.run()["__main__.read_all"] == hit()
    project.write("b.txt", "gamma\n")
    report = project.run()
    assert report["__main__.read_all"] == miss("file changed")
    assert project.last.stdout == "['alpha', 'gamma']\n"
