"""The source rewriter (`crates/rote-memo/python/_rote_rewrite.py`): which
functions get wrapped, identities that ignore what cannot change a result and
follow everything that can, rewritten code that behaves and fails exactly as
the original, the code cache, and the import hook.

Loads the module by path, so it runs under plain python as well as in rote:
`python -m pytest --noconftest -p no:cacheprovider tests/python/test_rewrite.py`."""

import builtins
import hashlib
import importlib
import importlib.util
import inspect
import io
import marshal
import os
import pathlib
import subprocess
import sys
import textwrap
import traceback
import uuid
from contextlib import redirect_stdout

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "crates" / "rote-memo" / "python" / "_rote_rewrite.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("_rote_rewrite_under_test", SOURCE)
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


rw = _load_module()


def hasher(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def src(text):
    return textwrap.dedent(text).encode()


def identities(text, module="m"):
    return rw.rewrite(src(text), "<test>", module, hasher)[1]


def ident(text, name="f", module="m"):
    return identities(text, module)[name]


@pytest.fixture
def recorder(monkeypatch):
    """`__rote_wrap__` in builtins, recording what it wraps."""
    calls = []

    def wrap(func, identity):
        calls.append((func.__qualname__, identity))
        return func

    monkeypatch.setattr(builtins, "__rote_wrap__", wrap, raising=False)
    return calls


# ---------------------------------------------------------------------------
# Identities

BASE = """
    import math

    def f(a, b=2, *, scale=1.5):
        total = 0
        for i in range(a):
            total += math.sqrt(i) * b
        return total * scale
"""

SAME = {
    "comments": """
        import math
        # a comment
        def f(a, b=2, *, scale=1.5):  # trailing
            total = 0  # start
            for i in range(a):
                # inside
                total += math.sqrt(i) * b
            return total * scale
    """,
    "docstring": '''
        import math

        def f(a, b=2, *, scale=1.5):
            """Sum of square roots."""
            total = 0
            for i in range(a):
                total += math.sqrt(i) * b
            return total * scale
    ''',
    "annotations": """
        import math

        def f(a: int, b: int = 2, *, scale: float = 1.5) -> float:
            total: float = 0
            for i in range(a):
                total += math.sqrt(i) * b
            return total * scale
    """,
    "formatting": """
        import math


        def f(a,b=2,*,scale=1.5):

            total=0
            for i in range( a ):
                total+=math.sqrt(i)*b


            return (total*scale)
    """,
    "local renames": """
        import math

        def f(a, b=2, *, scale=1.5):
            acc = 0
            for k in range(a):
                acc += math.sqrt(k) * b
            return acc * scale
    """,
    "code moved down": """
        import math
        x = 1


        def f(a, b=2, *, scale=1.5):
            total = 0
            for i in range(a):
                total += math.sqrt(i) * b
            return total * scale
    """,
}

DIFFERENT = {
    "int vs float literal": ("total = 0", "total = 0.0"),
    "int vs bool literal": ("total = 0", "total = False"),
    "operator": ("total * scale", "total / scale"),
    "augmented operator": ("total +=", "total -="),
    "default value": ("b=2", "b=3"),
    "keyword-only default": ("scale=1.5", "scale=1.25"),
    "parameter name": ("b=2, *", "c=2, *"),
    "called name": ("math.sqrt(i)", "math.exp(i)"),
    "attribute name": ("math.sqrt(i)", "math.sqrt(i).real"),
    "string literal": ("range(a)", "range(a, 'x')"),
    "range argument": ("range(a)", "range(1, a)"),
}


@pytest.mark.parametrize("variant", sorted(SAME))
def test_identity_ignores(variant):
    assert ident(SAME[variant]) == ident(BASE)


@pytest.mark.parametrize("change", sorted(DIFFERENT))
def test_identity_follows(change):
    old, new = DIFFERENT[change]
    assert old in BASE
    assert ident(BASE.replace(old, new)) != ident(BASE)


def test_identity_is_deterministic_and_32_bytes():
    assert ident(BASE) == ident(BASE)
    assert len(ident(BASE)) == 32


def test_identity_follows_module_and_function_name():
    renamed = BASE.replace("def f(", "def g(")
    assert ident(BASE, module="m") != ident(BASE, module="n")
    assert ident(renamed, name="g") != ident(BASE)


FOLLOW_BASE = "import functools\n\n\ndef f(x):\n    return g(x)\n"


@pytest.mark.parametrize(
    "old, new",
    [
        ("def f(x):", "@functools.cache\ndef f(x):"),  # decorator added
        ("def f(x):", "async def f(x):"),  # function kind
        ("return g(x)", "return g(x=x)"),  # keyword argument
        ("return g(x)", "return g(x.real)"),  # attribute
        ("return g(x)", "return g(x, 'a')"),  # string literal
        ("return g(x)", "return h(x)"),  # called name
    ],
)
def test_identity_follows_more(old, new):
    assert old in FOLLOW_BASE
    assert ident(FOLLOW_BASE.replace(old, new)) != ident(FOLLOW_BASE)


def test_identity_follows_decorator_and_keyword_names():
    cache = FOLLOW_BASE.replace("def f", "@functools.cache\ndef f")
    lru = FOLLOW_BASE.replace("def f", "@functools.lru_cache\ndef f")
    assert ident(cache) != ident(lru)
    x_kw = FOLLOW_BASE.replace("g(x)", "g(x=x)")
    y_kw = FOLLOW_BASE.replace("g(x)", "g(y=x)")
    assert ident(x_kw) != ident(y_kw)


def test_renaming_never_confuses_global_and_local():
    # f reads the global x (resp. y); g's local has the same name.
    with_x = """
        def f():
            def g():
                x = 1
                return x
            return g() + x
    """
    with_y = with_x.replace("x", "y")
    assert ident(with_x) != ident(with_y)


def test_renaming_respects_inlined_comprehensions():
    # Python 3.12 inlines comprehensions: the loop variable is not the x
    # returned afterwards, which is a global.
    with_x = "def f(r):\n    a = [x for x in r]\n    return a, x\n"
    with_y = with_x.replace("x", "y")
    assert ident(with_x) != ident(with_y)
    # Without the global read, the names are only local: same identity.
    only_local = "def f(r):\n    a = [x for x in r]\n    return a\n"
    assert ident(only_local) == ident(only_local.replace("x", "y"))


def test_renaming_keeps_parameters_globals_and_observable_names():
    pairs = [
        # parameters of nested functions and lambdas are keyword names
        (
            "def f():\n    g = lambda a: a\n    return g(a=1)\n",
            "def f():\n    g = lambda b: b\n    return g(a=1)\n",
        ),
        # declared global
        (
            "def f():\n    global a\n    a = 1\n",
            "def f():\n    global b\n    b = 1\n",
        ),
        # nonlocal
        (
            "def f():\n    a = 0\n    def g():\n        nonlocal a\n        a = 1\n"
            + "    g()\n    return a\n",
            "def f():\n    b = 0\n    def g():\n        nonlocal b\n        b = 1\n"
            + "    g()\n    return b\n",
        ),
        # nested def names are visible as __name__
        (
            "def f():\n    def g(): pass\n    return g.__name__\n",
            "def f():\n    def h(): pass\n    return h.__name__\n",
        ),
        # class attributes in a class defined in a function
        (
            "def f():\n    class C:\n        a = 1\n    return C.a\n",
            "def f():\n    class C:\n        b = 1\n    return C.a\n",
        ),
        # a global read in a method of a nested class
        (
            "def f():\n    a = 1\n    class C:\n        def m(self): return a\n"
            + "    return C().m()\n",
            "def f():\n    b = 1\n    class C:\n        def m(self): return a\n"
            + "    return C().m()\n",
        ),
    ]
    for one, other in pairs:
        assert ident(one) != ident(other), one


def test_renaming_covers_every_binding_form():
    text = """
        import os
        def f(p):
            import json
            import os.path as osp
            from math import pi
            try:
                w = json.dumps(p)
            except ValueError as err:
                w = str(err)
            with open(p) as fh, open(p) as gh:
                n = len(fh.read()) + len(gh.read())
            if (m := n * pi) > 1:
                del m
            match p:
                case [first, *rest]:
                    w += first + str(rest)
                case {"k": kv, **others}:
                    w += kv + str(others)
                case str() as whole:
                    w += whole
            total = sum(q for q in range(n))
            return w, osp, total
    """
    renames = {
        "json": "js",
        "osp": "op",
        "pi": "pi2",
        "err": "e2",
        "fh": "fa",
        "gh": "ga",
        "n": "cnt",
        "m": "mm",
        "first": "hd",
        "rest": "tl",
        "kv": "val",
        "others": "more",
        "whole": "everything",
        "total": "tt",
        "q": "qq",
    }
    import re

    renamed = text
    for old, new in renames.items():
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    assert renamed != text
    # Renaming what an import binds must not change what it imports.
    renamed = renamed.replace("from math import pi2", "from math import pi as pi2")
    renamed = renamed.replace("import js\n", "import json as js\n")
    assert ident(renamed) == ident(text)


def test_locals_and_frame_access_disable_renaming():
    plain = "def f():\n    a = 1\n    return a\n"
    assert ident(plain) == ident(plain.replace("a", "b"))
    for extra in ("locals()", "vars()", "eval('a')", "sys._getframe().f_locals"):
        one = f"import sys\ndef f():\n    a = 1\n    return a, {extra}\n"
        assert ident(one) != ident(one.replace("a = 1", "b = 1").replace("a,", "b,"))


CLASS = """
    class K(Base, metaclass=Meta):
        '''A class.'''
        rate = 2

        def one(self, x):
            return x * self.rate

        def two(self, x):
            return x + self.rate

        @property
        def three(self):
            return 3
"""


def test_method_identity_follows_class_header_not_siblings():
    base = identities(CLASS)
    assert {"K", "K.one", "K.two", "K.three"} <= base.keys()
    attr = identities(CLASS.replace("rate = 2", "rate = 3"))
    sibling = identities(CLASS.replace("x * self.rate", "x ** self.rate"))
    base_class = identities(CLASS.replace("Base,", "Other,"))
    doc = identities(CLASS.replace("A class.", "The class."))
    for name in ("K.one", "K.two", "K.three", "K"):
        assert attr[name] != base[name]
        assert base_class[name] != base[name]
        assert doc[name] == base[name]
    assert sibling["K.one"] != base["K.one"]
    assert sibling["K.two"] == base["K.two"]
    assert sibling["K.three"] == base["K.three"]
    assert sibling["K"] != base["K"]


def test_class_attribute_annotations_count():
    # dataclasses read them: ClassVar is not a field
    one = "class C:\n    x: int = 0\n    def m(self): return self.x\n"
    other = one.replace("int", "ClassVar[int]")
    assert identities(one)["C.m"] != identities(other)["C.m"]


def test_identities_cover_every_top_level_def_and_class():
    text = """
        import functools
        def plain(): return 1
        async def coro(): return 1
        def gen(): yield 1
        @functools.cache
        def cached(): return 1
        class C:
            x = 1
            def m(self): return 1
            async def am(self): return 1
            def __repr__(self): return "C"
            class Inner:
                def n(self): return 1
        if True:
            def hidden(): return 1
        lam = lambda: 1
    """
    assert set(identities(text)) == {
        "plain",
        "coro",
        "gen",
        "cached",
        "C",
        "C.m",
        "C.am",
        "C.__repr__",
    }


# ---------------------------------------------------------------------------
# Rewritten code

PROGRAM = """
import functools

def plain(n):
    return [i * i for i in range(n)]

def gen(n):
    yield from range(n)

def outer(n):
    def inner(k):
        return k + n
    return inner(1)

async def coro():
    return 1

@functools.lru_cache
def decorated(n):
    return n + 1

double = lambda n: 2 * n

if True:
    def conditional():
        return "c"

try:
    def in_try():
        return "t"
except Exception:
    pass

class Shape:
    sides = 4

    def area(self, k):
        return self.sides * k

    def __init__(self):
        self.made = True

    def _private(self):
        return "p"

    def __mangled(self):
        return "m"

    def use_mangled(self):
        return self.__mangled()

    @staticmethod
    def static():
        return "s"

    def walk(self):
        yield 1

@functools.total_ordering
class Decorated:
    def __eq__(self, other):
        return True

    def __lt__(self, other):
        return False

    def method(self):
        return "d"

def with_future():
    return 1

print(plain(4), list(gen(3)), outer(2), decorated(1), double(3))
print(conditional(), in_try(), Shape().area(2), Shape()._private())
print(Shape().use_mangled(), Shape.static(), list(Shape().walk()), Shape().made)
print(Decorated().method(), Decorated() >= Decorated(), plain.__name__)
print(Shape.area.__qualname__, Shape.__dict__.keys() - {"__weakref__"})
"""


def run(code, name="prog"):
    namespace = {"__name__": name}
    out = io.StringIO()
    with redirect_stdout(out):
        exec(code, namespace)  # noqa: S102
    return out.getvalue(), namespace


def test_wrapped_set_is_exact(recorder):
    code, ids = rw.rewrite(PROGRAM.encode(), "prog.py", "prog", hasher)
    run(code)
    assert recorder == [
        ("plain", ids["plain"]),
        ("outer", ids["outer"]),
        ("Shape.area", ids["Shape.area"]),
        ("Shape._private", ids["Shape._private"]),
        ("Shape.__mangled", ids["Shape.__mangled"]),
        ("Shape.use_mangled", ids["Shape.use_mangled"]),
        ("Decorated.method", ids["Decorated.method"]),
        ("with_future", ids["with_future"]),
    ]


def test_rewritten_program_prints_the_same(recorder):
    plain, _ = run(compile(PROGRAM, "prog.py", "exec", dont_inherit=True))
    code, _ = rw.rewrite(PROGRAM.encode(), "prog.py", "prog", hasher)
    rewritten, _ = run(code)
    assert recorder
    assert rewritten == plain


def test_wrapper_result_is_bound(monkeypatch):
    def wrap(func, identity):
        def wrapper(*args, **kwargs):
            return ("wrapped", func(*args, **kwargs))

        return wrapper

    monkeypatch.setattr(builtins, "__rote_wrap__", wrap, raising=False)
    text = "def f(x):\n    return x\nclass C:\n    def m(self):\n        return 1\n"
    code, _ = rw.rewrite(text.encode(), "t.py", "t", hasher)
    _, ns = run(code)
    assert ns["f"](1) == ("wrapped", 1)
    assert ns["C"]().m() == ("wrapped", 1)


FAILING = """\
import math


def helper(x):
    # comment
    return math.sqrt(
        x
    )


class Model:
    scale = 1

    def fit(self, data):
        return [helper(d) for d in data]


def main():
    return Model().fit([1, -1])
"""


def test_tracebacks_are_the_same(tmp_path, recorder):
    path = tmp_path / "failing.py"
    path.write_text(FAILING)

    def failure(code):
        _, ns = run(code, "failing")
        with pytest.raises(ValueError) as info:
            ns["main"]()
        frames = traceback.extract_tb(info.value.__traceback__)[1:]
        return (
            [(f.filename, f.lineno, f.name, f.line) for f in frames],
            traceback.format_exception(info.value)[1:],
        )

    plain = failure(compile(FAILING, str(path), "exec", dont_inherit=True))
    code, _ = rw.rewrite(FAILING.encode(), str(path), "failing", hasher)
    rewritten = failure(code)
    assert recorder
    assert [f[1:] for f in plain[0]][-1] == (6, "helper", "return math.sqrt(")
    assert rewritten == plain


def test_wrap_errors_point_at_the_def_line(monkeypatch):
    def wrap(func, identity):
        raise RuntimeError(func.__qualname__)

    monkeypatch.setattr(builtins, "__rote_wrap__", wrap, raising=False)
    text = "x = 1\n\n\ndef f(a,\n      b):\n    return a\n"
    code, _ = rw.rewrite(text.encode(), "t.py", "t", hasher)
    with pytest.raises(RuntimeError) as info:
        run(code)
    frame = traceback.extract_tb(info.value.__traceback__)[-2]
    assert (frame.name, frame.lineno, frame.end_lineno) == ("<module>", 4, 4)
    plain = compile(text, "t.py", "exec", dont_inherit=True)
    lines = {line for _, _, line in code.co_lines()}
    assert lines == {line for _, _, line in plain.co_lines()}
    assert 4 in lines and 5 not in lines


def test_future_annotations_still_apply(recorder):
    text = "from __future__ import annotations\ndef f(x: Undefined) -> int:\n    return x\n"
    code, _ = rw.rewrite(text.encode(), "t.py", "t", hasher)
    _, ns = run(code)
    assert recorder == [("f", recorder[0][1])]
    assert ns["f"].__annotations__ == {"x": "Undefined", "return": "int"}


def test_coding_cookie_and_bom(recorder):
    latin = "# -*- coding: latin-1 -*-\ndef f():\n    return 'café'\nr = f()\n"
    code, _ = rw.rewrite(latin.encode("latin-1"), "t.py", "t", hasher)
    assert run(code)[1]["r"] == "café"
    bom = b"\xef\xbb\xbfdef f():\n    return '\xc3\xa9'\nr = f()\n"
    code, _ = rw.rewrite(bom, "t.py", "t", hasher)
    assert run(code)[1]["r"] == "é"
    assert len(recorder) == 2


def test_syntax_error_propagates():
    with pytest.raises(SyntaxError) as info:
        rw.rewrite(b"def f(:\n    pass\n", "bad.py", "bad", hasher)
    assert info.value.filename == "bad.py"
    assert info.value.lineno == 1


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695")
def test_type_parameters(recorder):
    text = """
        type Pair[T] = tuple[T, T]

        def first[T](pair: Pair[T]) -> T:
            head = pair[0]
            return head

        class Box[T]:
            def get(self, item: T) -> T:
                kept = item
                return kept

        print(first((1, 2)), Box().get(3))
    """
    code, ids = rw.rewrite(src(text), "t.py", "t", hasher)
    assert run(code)[0] == "1 3\n"
    assert [q for q, _ in recorder] == ["first", "Box.get"]
    renamed = text.replace("head", "h0").replace("kept", "k0")
    again = identities(renamed, module="t")
    assert again["first"] == ids["first"]
    assert again["Box.get"] == ids["Box.get"]
    other = identities(text.replace("first[T]", "first[U]"), module="t")
    assert other["first"] != ids["first"]


def test_deep_expressions_do_not_exhaust_the_stack():
    text = "def f(a):\n    return " + " + ".join(["a"] * 900) + "\n"
    _, ids = rw.rewrite(text.encode(), "t.py", "t", hasher)
    assert len(ids["f"]) == 32


# ---------------------------------------------------------------------------
# function_identity


def _import_file(directory, text):
    name = f"fi_{uuid.uuid4().hex}"
    (directory / f"{name}.py").write_text(text)
    sys.path.insert(0, str(directory))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(directory))
        del sys.modules[name]


FI_SOURCE = '''\
import functools


def top(a, b=1):
    """doc"""
    c = a + b
    return c


@functools.cache
def deco(a):
    return a


class K:
    rate = 2

    def meth(self, x):
        return x * self.rate


def outer(n):
    def inner(k):
        t = k + n
        return t
    return inner
'''


def test_function_identity_matches_rewrite(tmp_path):
    module = _import_file(tmp_path, FI_SOURCE)
    name = module.__name__
    ids = rw.rewrite(FI_SOURCE.encode(), module.__file__, name, hasher)[1]
    fi = rw.function_identity
    assert fi(module.top, hasher) == ids["top"]
    assert fi(module.deco.__wrapped__, hasher) == ids["deco"]
    assert fi(module.K.meth, hasher) == ids["K.meth"]
    assert fi(module.K().meth, hasher) == ids["K.meth"]
    assert len({ids["top"], ids["deco"], ids["K.meth"]}) == 3


def test_function_identity_of_nested_functions(tmp_path):
    def nested(text):
        module = _import_file(tmp_path, text)
        module.__name__ = "same"  # read when outer() makes inner
        func = module.outer(1)
        assert func.__module__ == "same"
        return rw.function_identity(func, hasher)

    base = nested(FI_SOURCE)
    assert len(base) == 32
    assert base == nested(FI_SOURCE)
    # a local of its own renamed: same
    renamed = FI_SOURCE.replace("t = k", "u = k").replace("return t", "return u")
    assert base == nested(renamed)
    # its body changed, or the name it reads from the enclosing function
    assert base != nested(FI_SOURCE.replace("k + n", "k - n"))
    assert base != nested(FI_SOURCE.replace("(n)", "(m)").replace("+ n", "+ m"))


def test_function_identity_without_source():
    namespace = {"__name__": "nosrc"}
    for text in ("def f(a):\n    return a + 1\n", "def g(a):\n    return a + 2\n"):
        exec(compile(text, "<nowhere>", "exec"), namespace)  # noqa: S102
    first = rw.function_identity(namespace["f"], hasher)
    assert len(first) == 32
    assert first == rw.function_identity(namespace["f"], hasher)
    assert first != rw.function_identity(namespace["g"], hasher)
    assert rw.function_identity(len, hasher) is None


# ---------------------------------------------------------------------------
# load_code


def test_load_code_caches(tmp_path, monkeypatch):
    text = b"def f(x):\n    return x + 1\n"
    code_dir = tmp_path / "code"
    first = rw.load_code(text, "a.py", "a", hasher, str(code_dir))
    files = [p for p in code_dir.rglob("*") if p.is_file()]
    assert len(files) == 1
    assert files[0].parent.name == files[0].name[:2]

    def no_rewrite(*args):
        raise AssertionError("rewrote instead of using the cache")

    monkeypatch.setattr(rw, "rewrite", no_rewrite)
    second = rw.load_code(text, "a.py", "a", hasher, str(code_dir))
    assert second[1] == first[1]
    assert second[0].co_filename == "a.py"
    # any change of source, file name or module name misses
    for args in [(text + b"\n", "a.py", "a"), (text, "b.py", "a"), (text, "a.py", "b")]:
        with pytest.raises(AssertionError):
            rw.load_code(*args[:3], hasher, str(code_dir))


def test_load_code_without_cache_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, ids = rw.load_code(b"def f(): pass\n", "a.py", "a", hasher, None)
    assert set(ids) == {"f"}
    assert list(tmp_path.iterdir()) == []


def test_load_code_recomputes_corrupt_files(tmp_path):
    text = b"def f(x):\n    return x + 1\n"
    code_dir = tmp_path / "code"
    good = rw.load_code(text, "a.py", "a", hasher, str(code_dir))
    (path,) = [p for p in code_dir.rglob("*") if p.is_file()]
    intact = path.read_bytes()
    for junk in [b"", b"garbage", intact[: len(intact) // 2], b"\xe9" * 10]:
        path.write_bytes(junk)
        again = rw.load_code(text, "a.py", "a", hasher, str(code_dir))
        assert again[1] == good[1]
        assert path.read_bytes() == intact
    assert [p for p in code_dir.rglob("*") if p.is_file()] == [path]


def test_load_code_ignores_unwritable_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    _, ids = rw.load_code(b"def f(): pass\n", "a.py", "a", hasher, str(blocker))
    assert set(ids) == {"f"}


WARM = """
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("_rote_rewrite", sys.argv[1])
rw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rw)
heavy = {"ast", "symtable"}
before = sorted(heavy & set(sys.modules))
source = open(sys.argv[3], "rb").read()
code, ids = rw.load_code(
    source, sys.argv[3], "warm",
    lambda b: hashlib.blake2b(b, digest_size=32).digest(), sys.argv[2],
)
exec(code, {"__name__": "warm", "__rote_wrap__": lambda f, i: f})
print(before, sorted(heavy & set(sys.modules)), sorted(ids))
"""


def test_warm_load_does_not_import_ast(tmp_path):
    script = tmp_path / "warm.py"
    script.write_text("def f(x):\n    return x\nclass C:\n    def m(self): pass\n")
    code_dir = tmp_path / "code"

    def child():
        out = subprocess.run(
            [
                sys.executable,
                "-I",
                "-B",
                "-c",
                WARM,
                str(SOURCE),
                str(code_dir),
                str(script),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    names = "['C', 'C.m', 'f']"
    assert child() == f"[] ['ast', 'symtable'] {names}"  # cold
    assert child() == f"[] [] {names}"  # warm
    # what this process computes is what the child stored
    rw.load_code(script.read_bytes(), str(script), "warm", hasher, str(code_dir))
    assert child() == f"[] [] {names}"


def test_module_imports_nothing_heavy():
    out = subprocess.run(
        [
            sys.executable,
            "-I",
            "-B",
            "-c",
            "import sys, runpy; runpy.run_path(sys.argv[1]);"
            + "print(sorted({'ast', 'symtable', 'inspect'} & set(sys.modules)))",
            str(SOURCE),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# install_finder


@pytest.fixture
def project(tmp_path, recorder):
    """A project with a package, an outside directory and a virtualenv inside
    the project; everything undone afterwards."""
    tag = uuid.uuid4().hex[:8]
    proj = tmp_path / "proj"
    pkg = proj / f"pkg_{tag}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def init_func():\n    return 'init'\n")
    (pkg / "mod.py").write_text(
        "import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\n"
        "class Circle:\n    def __init__(self, r):\n        self.r = r\n\n"
        "    def area(self):\n        return area(self.r)\n\n\n"
        "def gen():\n    yield 1\n\n\n"
        "def boom():\n    raise ValueError('boom')\n"
    )
    site = proj / ".venv" / "lib" / "python3" / "site-packages"
    site.mkdir(parents=True)
    (site / f"vendored_{tag}.py").write_text("def vend():\n    return 'v'\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"ext_{tag}.py").write_text("def ext():\n    return 'e'\n")

    loaded = []

    def load(source, path, fullname):
        loaded.append((fullname, path))
        return rw.load_code(source, path, fullname, hasher, None)

    saved_path = list(sys.path)
    sys.path[:0] = [str(proj), str(outside), str(site)]
    importlib.invalidate_caches()
    finder = rw.install_finder([str(proj)], load)
    try:
        yield {
            "tag": tag,
            "proj": proj,
            "pkg": pkg,
            "loaded": loaded,
            "finder": finder,
            "calls": recorder,
        }
    finally:
        sys.meta_path.remove(finder)
        sys.path[:] = saved_path
        for name in list(sys.modules):
            if tag in name:
                del sys.modules[name]


def test_finder_rewrites_project_modules(project):
    tag, pkg = project["tag"], project["pkg"]
    assert sys.meta_path[0] is project["finder"]
    mod = importlib.import_module(f"pkg_{tag}.mod")
    package = sys.modules[f"pkg_{tag}"]
    assert [name for name, _ in project["loaded"]] == [f"pkg_{tag}", f"pkg_{tag}.mod"]
    assert [q for q, _ in project["calls"]] == [
        "init_func",
        "area",
        "Circle.area",
        "boom",
    ]
    assert mod.Circle(1).area() == pytest.approx(3.14159, rel=1e-4)
    assert isinstance(mod.__loader__, importlib.machinery.SourceFileLoader)
    # looks as in plain python
    assert mod.__file__ == str(pkg / "mod.py")
    assert mod.__cached__ == importlib.util.cache_from_source(str(pkg / "mod.py"))
    assert mod.__spec__.origin == mod.__file__
    assert package.__path__ == [str(pkg)]
    assert package.__file__ == str(pkg / "__init__.py")
    assert inspect.getsource(mod.area) == "def area(r):\n    return math.pi * r * r\n"
    assert "yield 1" in inspect.getsource(mod.gen)
    with pytest.raises(ValueError) as info:
        mod.boom()
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.line) == (
        mod.__file__,
        (pkg / "mod.py").read_text().splitlines().index("    raise ValueError('boom')")
        + 1,
        "raise ValueError('boom')",
    )
    # The bytecode python itself would write (when it writes any): plain,
    # never the rewritten code, which plain python would load later.
    for pyc in project["proj"].rglob("*.pyc"):
        assert not sys.dont_write_bytecode
        code = marshal.loads(pyc.read_bytes()[16:])
        assert "__rote_wrap__" not in code.co_names, pyc
    if sys.dont_write_bytecode:
        assert not list(project["proj"].rglob("__pycache__"))
    # reload goes through the finder again
    importlib.reload(mod)
    assert project["loaded"][-1] == (f"pkg_{tag}.mod", mod.__file__)


def test_finder_leaves_other_modules_alone(project):
    tag = project["tag"]
    ext = importlib.import_module(f"ext_{tag}")
    vendored = importlib.import_module(f"vendored_{tag}")
    import json.decoder  # noqa: F401 - a stdlib module through the finder

    assert project["loaded"] == []
    assert project["calls"] == []
    assert ext.ext() == "e"
    assert vendored.vend() == "v"
    assert type(ext.__loader__) is importlib.machinery.SourceFileLoader
    assert project["finder"].find_spec(f"ext_{tag}", None) is None
    assert project["finder"].find_spec("sys", None) is None


def test_finder_rewrites_namespace_package_modules(project):
    tag, proj = project["tag"], project["proj"]
    ns = proj / f"ns_{tag}"
    ns.mkdir()
    (ns / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    importlib.invalidate_caches()
    helper = importlib.import_module(f"ns_{tag}.helper")
    assert project["loaded"] == [(f"ns_{tag}.helper", str(ns / "helper.py"))]
    assert helper.twice(4) == 8
    assert [q for q, _ in project["calls"]] == ["twice"]


def test_finder_yields_to_a_module_ahead_of_the_project(project, tmp_path):
    tag, proj = project["tag"], project["proj"]
    (proj / f"dup_{tag}.py").write_text("WHERE = 'project'\n")
    ahead = tmp_path / "ahead"
    ahead.mkdir()
    (ahead / f"dup_{tag}.py").write_text("WHERE = 'ahead'\n")
    sys.path.insert(0, str(ahead))
    importlib.invalidate_caches()
    dup = importlib.import_module(f"dup_{tag}")
    assert dup.WHERE == "ahead"
    assert project["loaded"] == []


def test_finder_rewrites_modules_found_through_a_link_into_the_project(
    project, tmp_path
):
    tag = project["tag"]
    (project["proj"] / f"linked_{tag}.py").write_text("def one():\n    return 1\n")
    link = tmp_path / "link"
    try:
        os.symlink(project["proj"], link, target_is_directory=True)
    except OSError:
        pytest.skip("no symlinks")
    sys.path.remove(str(project["proj"]))
    sys.path.insert(0, str(link))
    importlib.invalidate_caches()
    linked = importlib.import_module(f"linked_{tag}")
    assert [name for name, _ in project["loaded"]] == [f"linked_{tag}"]
    assert linked.one() == 1


def test_finder_reports_syntax_errors_as_python_does(project):
    bad = project["proj"] / f"bad_{project['tag']}.py"
    bad.write_text("x = 1\ndef f(:\n    pass\n")
    importlib.invalidate_caches()
    with pytest.raises(SyntaxError) as info:
        importlib.import_module(f"bad_{project['tag']}")
    assert (info.value.filename, info.value.lineno) == (str(bad), 2)
    assert not list(project["proj"].rglob("__pycache__"))


def test_finder_follows_symlinks_into_the_project(project, tmp_path):
    link = tmp_path / "link"
    try:
        os.symlink(project["proj"], link, target_is_directory=True)
    except OSError:
        pytest.skip("no symlinks")
    assert project["finder"].covers(str(link / "x.py"))
    assert not project["finder"].covers(str(tmp_path / "outside" / "x.py"))
    assert not project["finder"].covers(os.__file__)
