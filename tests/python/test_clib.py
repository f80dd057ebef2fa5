"""The C library layer (crates/rote-interpose, crates/rote-memo/src/clib.rs):
what compiled code does through libc reaches rote, for the call that did it.

Every entry point is driven from real `rote run` processes on a throw-away
project (the layer reports only while a memoization candidate runs, and its
sink is installed by `rote run`): a probe script calls each entry point
inside a function of its own, wrapped in `rote._trace`, and writes the
events it saw to a JSON file, while `rote status --json` and `-v` say what
rote made of them, call by call. Then files are rewritten between runs:
the calls that read them miss with `file changed` (also when the read was
made on one of pyarrow's threads), and print what plain python prints.

Runs inside rote (`rote -m pytest tests/python -k clib`), where
`sys.executable` is the rote binary; plain python is the virtualenv's.
"""

import errno
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import rote

VENV = os.environ.get("VIRTUAL_ENV")
if not VENV:
    pytest.skip(
        "test_clib compares rote with the virtualenv's plain python: "
        "set VIRTUAL_ENV (to a venv with pyarrow, pandas and h5py)",
        allow_module_level=True,
    )
VENV_PYTHON = str(Path(VENV) / "bin" / "python")
ROTE = sys.executable
TIMEOUT = 120

ACCMODE = os.O_RDONLY | os.O_WRONLY | os.O_RDWR
LIBPYTHON = "libpython3."


# ---------------------------------------------------------------------------
# Helpers


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTE_")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


class Project:
    """A project folder, `rote run -v` and python runs in it, rote's report."""

    def __init__(self, root: Path):
        self.root = root
        self.cache = root / ".rote"
        self.env = _env()

    def write(self, rel, text):
        path = self.root / rel
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def _run(self, argv, env=None):
        p = subprocess.run(
            [str(a) for a in argv],
            check=False,
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        return p

    def rote(self, *args):
        argv = [ROTE, "run", "--cache-dir", self.cache, "--min-duration", "0", "-v"]
        p = self._run(argv + ["main.py", *args])
        assert p.returncode == 0, p.stderr
        return p

    def python(self, *args):
        p = self._run([VENV_PYTHON, "main.py", *args])
        assert p.returncode == 0, p.stderr
        return p

    def status(self):
        """The last run's functions: hits, misses, stored, reasons."""
        env = dict(self.env, ROTE_CACHE_DIR=str(self.cache))
        p = self._run([ROTE, "status", "--json"], env=env)
        assert p.returncode == 0, p.stderr
        last = json.loads(p.stdout)["last_run"]
        return {
            name.removeprefix("__main__."): {
                k: f[k] for k in ("hits", "misses", "stored", "reasons")
            }
            for name, f in last["functions"].items()
        }


def counts(hits=0, misses=0, stored=0, reasons=None):
    return {"hits": hits, "misses": misses, "stored": stored, "reasons": reasons or {}}


def stored(reason=None):
    """One execution, stored; `reason`: why it ran (None: first call)."""
    return counts(misses=1, stored=1, reasons={reason: 1} if reason else {})


def not_stored(reason):
    return counts(misses=1, reasons={reason: 1})


def hit():
    return counts(hits=1)


def decisions(stderr):
    """`-v` lines: {function: [(verdict, text in parentheses), ...]}."""
    out = {}
    for m in re.finditer(
        r"^rote: (hit|miss|stored|not stored) __main__\.(\w+) \((.*)\)$",
        stderr,
        re.MULTILINE,
    ):
        out.setdefault(m[2], []).append((m[1], m[3]))
    return out


def closed_port():
    """A loopback TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_parquet(path, offset=0, parts=1, rows=20_000, row_group=2_000):
    """Uncompressed, plain-encoded int64 columns: rewriting with another
    `offset` changes every value and keeps the file's size."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    a = np.arange(rows, dtype=np.int64) + offset
    table = pa.table({"a": a, "b": a * 3})
    pq.write_table(
        table, path, row_group_size=row_group, compression="none", use_dictionary=False
    )


def write_h5(path, offset=0.0):
    import h5py
    import numpy as np

    with h5py.File(path, "w") as f:
        f["x"] = np.arange(64.0) + offset


# ---------------------------------------------------------------------------
# Every entry point, in a function of its own, traced

PROBE = r"""
import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import rote


def read_table(path):
    table = pq.read_table(path, use_threads=True)
    return int(table.column("a").to_numpy().sum())


def read_parquet(path):
    return int(pd.read_parquet(path)["b"].sum())


def to_parquet(path):
    pd.DataFrame({"a": np.arange(10)}).to_parquet(path)


def tofile(path):
    np.arange(100.0).tofile(path)


def fromfile(path):
    return float(np.fromfile(path).sum())


def h5_write(path):
    with h5py.File(path, "w") as f:
        f["y"] = np.arange(8.0)


def h5_read(path):
    with h5py.File(path, "r") as f:
        return float(f["x"][:].sum())


def wall_clock():
    return time.time() > 0


def urandom():
    return len(os.urandom(16))


def posix_spawn():
    pid = os.posix_spawn("/bin/true", ["true"], dict(os.environ))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def connect(port):
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
        except OSError as e:
            return e.errno


# Straight to libc through ctypes: no audit event of the call's, only rote's
# C layer sees what these two do. (The library is opened here: opening it is
# a reason of its own when a call does it.)
LIBC = ctypes.CDLL(None, use_errno=True)


def libc_posix_spawn():
    pid = ctypes.c_int()
    argv = (ctypes.c_char_p * 2)(b"true", None)
    rc = LIBC.posix_spawn(ctypes.byref(pid), b"/bin/true", None, None, argv, None)
    os.waitpid(pid.value, 0)
    return rc


def libc_connect(port):
    fd = LIBC.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    addr = struct.pack(
        "=HH4s8x", socket.AF_INET, socket.htons(port), socket.inet_aton("127.0.0.1")
    )
    rc = LIBC.connect(fd, addr, len(addr))
    err = ctypes.get_errno()
    os.close(fd)
    return rc, err


def pure(n):
    return sum(i * i for i in range(n))


port = int(sys.argv[2])
calls = [
    ("read_table", read_table, "t.parquet"),
    ("read_parquet", read_parquet, "t.parquet"),
    ("to_parquet", to_parquet, "out.parquet"),
    ("tofile", tofile, "a.bin"),
    ("fromfile", fromfile, "in.bin"),
    ("h5_write", h5_write, "w.h5"),
    ("h5_read", h5_read, "r.h5"),
    ("wall_clock", wall_clock),
    ("urandom", urandom),
    ("posix_spawn", posix_spawn),
    ("connect", connect, port),
    ("libc_posix_spawn", libc_posix_spawn),
    ("libc_connect", libc_connect, port),
    ("pure", pure, 1000),
]
report = {"main_tid": threading.get_native_id(), "events": {}}
for name, func, *args in calls:
    rote._trace(True)
    value = func(*args)
    events = rote._trace(False)
    report["events"][name] = [
        [kind, fn, None if path is None else str(path), flags, err, tid, caller]
        for kind, fn, path, flags, err, tid, caller in events
    ]
    print(name, value)
with open(sys.argv[1], "w") as f:
    json.dump(report, f)
"""

ENTRY_POINTS = [
    "read_table",
    "read_parquet",
    "to_parquet",
    "tofile",
    "fromfile",
    "h5_write",
    "h5_read",
    "wall_clock",
    "urandom",
    "posix_spawn",
    "connect",
    "libc_posix_spawn",
    "libc_connect",
]

WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _reads(path, caller):
    return {"kind": "open", "path": path, "mode": os.O_RDONLY, "caller": caller}


def _writes(path, caller, mode=WRITE):
    return {"kind": "open", "path": path, "mode": mode, "caller": caller}


# What each entry point must deliver (one event at least matching every key
# given), and rote's verdict on the call: status and the `-v` detail (None:
# not checked, for the calls that an audit hook sees first).
EXPECTED = {
    "read_table": (_reads("t.parquet", "libarrow"), stored(), None),
    "read_parquet": (_reads("t.parquet", "libarrow"), stored(), None),
    # Written from scratch and closed by the call: its outputs, stored with
    # it (tests/python/test_judge.py puts them back).
    "to_parquet": (_writes("out.parquet", "libarrow"), stored(), None),
    "tofile": (_writes("a.bin", LIBPYTHON), stored(), None),
    "fromfile": (_reads("in.bin", LIBPYTHON), stored(), None),
    "h5_write": (
        _writes("w.h5", "libhdf5", os.O_RDWR | os.O_CREAT | os.O_TRUNC),
        # HDF5 also opens the file read-write without truncating it.
        not_stored("opens file read-write: w.h5"),
        "opens file read-write: w.h5: {root}/w.h5",
    ),
    "h5_read": (_reads("r.h5", "libhdf5"), stored(), None),
    "wall_clock": (
        {"kind": "clock", "function": "clock_gettime", "flags": 0, "caller": LIBPYTHON},
        not_stored("reads the clock"),
        "reads the clock: clock_gettime",
    ),
    "urandom": (
        {"kind": "random", "function": "getrandom", "flags": 16, "caller": LIBPYTHON},
        not_stored("reads randomness"),
        "reads randomness: getrandom",
    ),
    "posix_spawn": (
        {
            "kind": "process",
            "function": "posix_spawn",
            "path": "/bin/true",
            "caller": LIBPYTHON,
        },
        not_stored("starts a process"),
        None,
    ),
    "connect": (
        {
            "kind": "network",
            "function": "connect",
            "flags": socket.AF_INET,
            "errno": errno.ECONNREFUSED,
            "caller": "_socket.",
        },
        not_stored("network"),
        None,
    ),
    "libc_posix_spawn": (
        {"kind": "process", "function": "posix_spawn", "path": "/bin/true"},
        not_stored("starts a process"),
        "starts a process: posix_spawn",
    ),
    "libc_connect": (
        {
            "kind": "network",
            "function": "connect",
            "flags": socket.AF_INET,
            "errno": errno.ECONNREFUSED,
        },
        not_stored("network"),
        "network: socket",
    ),
}


def _matches(event, want, root):
    kind, function, path, flags, err, _tid, caller = event
    if kind != want["kind"]:
        return False
    if "function" in want and function != want["function"]:
        return False
    if "path" in want:
        expected = (
            want["path"] if want["path"].startswith("/") else str(root / want["path"])
        )
        if path != expected:
            return False
    # O_RDONLY is 0: a read is an open with none of the writing bits.
    if "mode" in want and (
        err != 0 or flags & (ACCMODE | os.O_CREAT | os.O_TRUNC) != want["mode"]
    ):
        return False
    if "flags" in want and flags != want["flags"]:
        return False
    if "errno" in want and err != want["errno"]:
        return False
    return "caller" not in want or (caller or "").startswith(want["caller"])


def write_floats(path, offset=0.0):
    import numpy as np

    (np.arange(256.0) + offset).tofile(path)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """One cold `rote run` of PROBE: (project, traced events, status, -v)."""
    project = Project(tmp_path_factory.mktemp("probe"))
    project.write("main.py", PROBE)
    write_parquet(project.root / "t.parquet")
    write_h5(project.root / "r.h5")
    write_floats(project.root / "in.bin")
    out = project.root / "events.json"
    run = project.rote(out, closed_port())
    return project, json.loads(out.read_text()), project.status(), decisions(run.stderr)


@pytest.fixture(scope="module")
def probe_rerun(probe):
    """A second run of PROBE after rewriting what h5py and numpy read (not
    what pyarrow reads): (status, -v)."""
    project = probe[0]
    for path, write in (
        (project.root / "r.h5", write_h5),
        (project.root / "in.bin", write_floats),
    ):
        size = path.stat().st_size
        write(path, offset=0.5)
        assert path.stat().st_size == size
    run = project.rote(project.root / "events2.json", closed_port())
    return project.status(), decisions(run.stderr)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_point_event_reaches_rote(probe, name):
    """The event arrives, with the path (absolute), open mode, clock id,
    byte count, address family or errno, and the library that made it."""
    project, report, _, _ = probe
    want = EXPECTED[name][0]
    events = report["events"][name]
    assert any(_matches(e, want, project.root) for e in events), (want, events)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_point_is_attributed_to_its_call(probe, name):
    """rote's verdict on the call that made it, and on that call alone: the
    readers are stored, each of the others is not, for its own reason."""
    project, _, status, verdicts = probe
    _, want_status, want_detail = EXPECTED[name]
    assert status[name] == want_status
    if want_detail is not None:
        detail = want_detail.format(root=project.root)
        assert ("not stored", detail) in verdicts[name], verdicts[name]


def test_calls_that_did_nothing_stay_pure(probe):
    """A pure call run after all the others is stored: nothing of theirs
    leaked into it, and the probe made no call rote did not see."""
    _, report, status, _ = probe
    assert status["pure"] == stored()
    assert set(status) == set(ENTRY_POINTS) | {"pure"}
    assert set(report["events"]) == set(status)


def test_rewritten_inputs_miss_only_their_readers(probe, probe_rerun):
    """The same size, other bytes: the h5py and numpy readers miss with
    `file changed`, the parquet readers and the pure call hit, the others
    run (and are not stored) again for the same reasons."""
    project, _, first, _ = probe
    status, verdicts = probe_rerun
    for name, rel in (("h5_read", "r.h5"), ("fromfile", "in.bin")):
        assert status[name] == stored("file changed")
        assert ("miss", f"file changed: {project.root / rel}") in verdicts[name]
    for name in ("read_table", "read_parquet", "pure"):
        assert status[name] == hit()
    for name in ENTRY_POINTS:
        if first[name]["stored"] == 0:
            assert status[name] == first[name], name


def test_reads_on_the_main_thread_and_in_compiled_code(probe):
    """pyarrow's and h5py's reads are made by their own libraries, not by
    the interpreter: only the C layer can see them."""
    project, report, _, _ = probe
    for name, lib, rel in (
        ("read_table", "libarrow", "t.parquet"),
        ("h5_read", "libhdf5", "r.h5"),
    ):
        opens = [
            e
            for e in report["events"][name]
            if e[0] == "open" and e[2] == str(project.root / rel)
        ]
        # After the call, rote itself opens the file to digest it.
        by_library = [e for e in opens if e[6] != "rote"]
        assert by_library and all(e[6].startswith(lib) for e in by_library), opens
        assert all(e[5] == report["main_tid"] for e in by_library)


# ---------------------------------------------------------------------------
# Rewritten between runs

READER = """
import pandas as pd
import pyarrow.parquet as pq


def load(path):
    return pq.read_table(path, use_threads=True).to_pandas()


def load_frame(path):
    return pd.read_parquet(path)


def summary(frame):
    return frame.describe().to_string()


frame = load("data.parquet")
print(summary(frame))
print(int(load_frame("data.parquet")["b"].sum()))
"""


def test_parquet_rewritten_between_runs_misses_and_prints_as_python(tmp_path):
    project = Project(tmp_path)
    project.write("main.py", READER)
    data = tmp_path / "data.parquet"
    write_parquet(data)

    first = project.rote()
    assert first.stdout == project.python().stdout
    assert project.status() == {
        "load": stored(),
        "load_frame": stored(),
        "summary": stored(),
    }

    second = project.rote()
    assert second.stdout == first.stdout
    assert project.status() == {"load": hit(), "load_frame": hit(), "summary": hit()}

    size = data.stat().st_size
    write_parquet(data, offset=1_000)
    assert data.stat().st_size == size
    third = project.rote()
    assert third.stdout == project.python().stdout
    assert third.stdout != first.stdout
    assert project.status() == {
        "load": stored("file changed"),
        "load_frame": stored("file changed"),
        "summary": stored("argument changed"),
    }
    verdicts = decisions(third.stderr)
    assert ("miss", f"file changed: {data}") in verdicts["load"]
    assert ("miss", f"file changed: {data}") in verdicts["load_frame"]


DATASET = """
import json
import sys
import threading

import pyarrow.parquet as pq

try:
    import rote
except ImportError:  # plain python
    rote = None


def load(folder):
    table = pq.read_table(folder, use_threads=True)
    return table.num_rows, int(table.column("a").to_numpy().sum())


main = threading.get_native_id()
if rote:
    rote._trace(True)
result = load("parts")
events = rote._trace(False) if rote else []
print(result)
with open(sys.argv[1], "w") as f:
    json.dump(
        [[kind, str(path), flags, tid == main, caller]
         for kind, _, path, flags, _, tid, caller in events
         if kind == "open" and path is not None],
        f,
    )
"""


def test_reads_on_pyarrow_threads_are_the_calls(tmp_path):
    """A multi-file, multi-row-group read with use_threads=True: pyarrow
    opens some of the files on its I/O threads, outside any Python frame;
    those reads are dependencies of the call all the same. Rewriting one of
    them (same size) misses with `file changed`, adding a file to the
    folder with `directory changed`."""
    project = Project(tmp_path)
    project.write("main.py", DATASET)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(8):
        write_parquet(parts / f"part-{i}.parquet", offset=i)
    trace, untraced = tmp_path / "trace.json", tmp_path / "untraced.json"

    first = project.rote(trace)
    assert first.stdout == project.python(untraced).stdout
    assert project.status() == {"load": stored()}
    # rote's own opens (digesting the files once the call returned) aside.
    opens = [
        e
        for e in json.loads(trace.read_text())
        if e[1].startswith(str(parts)) and e[4] != "rote"
    ]
    assert {Path(e[1]).name for e in opens} == {f"part-{i}.parquet" for i in range(8)}
    assert all(e[2] & ACCMODE == os.O_RDONLY for e in opens)
    assert all(e[4].startswith("libarrow") for e in opens)
    off_thread = sorted({e[1] for e in opens if not e[3]})
    assert off_thread, f"pyarrow opened every part on the main thread: {opens}"
    # Opened off the main thread only (its metadata is looked at on the main
    # thread, which its size decides, not its content).
    on_main = {e[1] for e in opens if e[3]}
    victims = [p for p in off_thread if p not in on_main]
    assert victims, opens
    victim = Path(victims[-1])

    assert project.rote(trace).stdout == first.stdout
    assert project.status() == {"load": hit()}

    size = victim.stat().st_size
    write_parquet(victim, offset=1_000)
    assert victim.stat().st_size == size
    third = project.rote(trace)
    assert third.stdout == project.python(untraced).stdout != first.stdout
    assert project.status() == {"load": stored("file changed")}
    assert ("miss", f"file changed: {victim}") in decisions(third.stderr)["load"]

    write_parquet(parts / "part-8.parquet", offset=8)
    fourth = project.rote(trace)
    assert fourth.stdout == project.python(untraced).stdout
    assert project.status() == {"load": stored("directory changed")}


MISSING = """
import pyarrow.fs as pafs


def exists(path):
    info = pafs.LocalFileSystem().get_file_info(path)
    return info.type != pafs.FileType.NotFound


print(exists("flag"))
"""


def test_missing_path_looked_at_by_compiled_code_then_created(tmp_path):
    """libarrow's stat of a path that is not there: the call depends on its
    absence, and misses with `file appeared` once it exists."""
    project = Project(tmp_path)
    project.write("main.py", MISSING)
    assert project.rote().stdout == "False\n"
    assert project.status() == {"exists": stored()}
    (tmp_path / "flag").write_text("")
    run = project.rote()
    assert run.stdout == project.python().stdout == "True\n"
    assert project.status() == {"exists": stored("file appeared")}


# ---------------------------------------------------------------------------
# Nothing outside candidates

QUIET = """
import os

import pyarrow.parquet as pq
import rote


def busy(path, n):
    for _ in range(n):
        os.stat(path)
    return pq.read_table(path).num_rows


def fails(path):
    os.stat(path)
    raise ValueError(path)


before = rote._c_events()
print("inside", busy("t.parquet", 10_000))
print("delivered inside", rote._c_events() - before >= 10_000)
for label in ("after a call", "after a raise"):
    if label == "after a raise":
        try:
            fails("t.parquet")
        except ValueError:
            pass
    # Module level: no candidate runs.
    before = rote._c_events()
    for _ in range(10_000):
        os.stat("t.parquet")
    pq.read_table("t.parquet")
    print("outside", label, rote._c_events() - before)
"""


def test_nothing_is_reported_outside_candidates(tmp_path):
    """10k `os.stat` calls and a parquet read at module level, after a
    candidate returned and after one raised, deliver no event; inside a
    candidate every one of them does."""
    project = Project(tmp_path)
    project.write("main.py", QUIET)
    write_parquet(tmp_path / "t.parquet")
    run = project.rote()
    assert run.stdout.splitlines() == [
        "inside 20000",
        "delivered inside True",
        "outside after a call 0",
        "outside after a raise 0",
    ]
    status = project.status()
    assert status["busy"] == stored()
    assert status["fails"]["stored"] == 0


COUNTED = """
import os

import rote


def busy(path, n):
    for _ in range(n):
        os.stat(path)
    return n


before = rote._c_layer()
for _ in range(5_000):
    os.stat("main.py")
print("inside", busy("main.py", 3_000))
after = rote._c_layer()
served, during = after[0] - before[0], after[1] - before[1]
print("served >= 8000", served >= 8_000)
print("during candidates >= 3000", during >= 3_000)
print("outside >= 5000", served - during >= 5_000)
print("sink time grew", after[2] > before[2])
"""


def test_counting_mode_serves_every_call_and_still_judges(tmp_path):
    """`ROTE_INTERPOSE=count` (bench/clib.py's accounting runs) reports the
    calls made outside candidates too, counts apart the ones made during a
    candidate, and memoizes exactly as the default mode does."""
    project = Project(tmp_path)
    project.write("main.py", COUNTED)
    project.env["ROTE_INTERPOSE"] = "count"
    run = project.rote()
    assert run.stdout.splitlines() == [
        "inside 3000",
        "served >= 8000 True",
        "during candidates >= 3000 True",
        "outside >= 5000 True",
        "sink time grew True",
    ]
    assert project.status()["busy"] == stored()


def test_nothing_is_reported_in_python_mode():
    """Under `rote -m pytest` (rote as python) no call is a candidate."""
    before = rote._c_events()
    for _ in range(10_000):
        os.stat(__file__)
    assert rote._c_events() == before


# ---------------------------------------------------------------------------
# Gaps found earlier and fixed since: plain tests, so they stay fixed


def test_trace_records_in_python_mode():
    rote._trace(True)
    os.stat(__file__)
    events = rote._trace(False)
    assert any(e[0] == "stat" and str(e[2]) == __file__ for e in events), events


CLOCK_IN_NUMPY = """
import numpy as np


def stamp():
    return str(np.datetime64("now"))


print(len(stamp()))
"""


def test_wall_clock_read_by_numpy_is_not_stored(tmp_path):
    project = Project(tmp_path)
    project.write("main.py", CLOCK_IN_NUMPY)
    project.rote()
    assert project.status() == {"stamp": not_stored("reads the clock")}


TABLE_PASSED_ON = """
import pyarrow.parquet as pq


def load(path):
    return pq.read_table(path)


def rows(table):
    return table.num_rows


print(rows(load("data.parquet")))
"""


def test_table_read_by_pyarrow_hits_downstream_on_the_first_warm_run(tmp_path):
    project = Project(tmp_path)
    project.write("main.py", TABLE_PASSED_ON)
    write_parquet(tmp_path / "data.parquet")
    project.rote()
    assert project.status() == {"load": stored(), "rows": stored()}
    project.rote()
    assert project.status() == {"load": hit(), "rows": hit()}
