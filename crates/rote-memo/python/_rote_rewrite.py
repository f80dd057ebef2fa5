"""Source rewriting for rote: wraps the plain functions of project modules and
gives every top-level function, class and method an identity that survives
edits which cannot change what it computes (comments, docstrings,
annotations, formatting, names of local variables) and changes with every
edit that can.

Executed by the Rust side as module `_rote_rewrite`. Importing it must stay
cheap: `ast` and `symtable` are imported only when a source has to be
rewritten, which `load_code` avoids when its cache already holds the result.
"""

import marshal
import os
import sys
from importlib.machinery import PathFinder, SourceFileLoader

_CACHE_TAG = b"rote-rewrite v2\0"
_IDENTITY_TAG = b"rote-identity v1\0"
_CODE_TAG = b"rote-code v1\0"
_WRAP = "__rote_wrap__"

# Any of these in a function means its locals may be looked at by name, so
# none of them is renamed.
_DYNAMIC_NAMES = frozenset(
    {"locals", "vars", "eval", "exec", "dir", "_getframe", "f_locals", "currentframe"}
)
_DYNAMIC_ATTRS = frozenset({"_getframe", "f_locals", "currentframe"})
_SKIPPED_FIELDS = frozenset({"type_comment", "kind"})
_CodeType = type((lambda: None).__code__)


# ---------------------------------------------------------------------------
# Rewriting


def rewrite(source, filename, module, hasher):
    """Parse `source` (bytes), wrap its wrappable functions and return
    `(code, identities)`; errors of python's own parser propagate."""
    import ast

    tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    tables = _Tables(source, filename)
    identities = {}
    body = []
    for stmt in tree.body:
        body.append(stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            table = tables.find(_MODULE, stmt)
            ident = _def_identity(stmt, table, module, stmt.name, hasher)
            identities[stmt.name] = ident
            if _wrappable(stmt):
                body.append(_wrap_statement(stmt, ident))
        elif isinstance(stmt, ast.ClassDef):
            class_table = tables.find(_MODULE, stmt)
            methods = {
                id(m): _renamable(m, tables.find(class_table, m))
                for m in stmt.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            identities[stmt.name] = _class_identity(stmt, methods, module, hasher)
            header = _class_header(stmt)
            class_body = []
            for m in stmt.body:
                class_body.append(m)
                if id(m) not in methods:
                    continue
                qualname = f"{stmt.name}.{m.name}"
                ident = _method_identity(
                    m, methods[id(m)], header, module, qualname, hasher
                )
                identities[qualname] = ident
                if _wrappable(m, method=True) and not _is_dunder(m.name):
                    class_body.append(_wrap_statement(m, ident))
            stmt.body = class_body
    tree.body = body
    code = compile(tree, filename, "exec", dont_inherit=True)
    return code, identities


def _wrappable(node, method=False):
    import ast

    return (
        isinstance(node, ast.FunctionDef)
        and not node.decorator_list
        and not _is_generator(node)
        # A method's own name in its body is a global, not the method.
        and (method or not _calls_itself(node))
    )


def _calls_itself(func):
    """Whether the function's body names itself. Every call through a wrapper
    passes through C, which CPython counts against its C recursion limit
    (1500 on 3.12), so wrapping a recursive function would halve the depth
    it can recurse to; recursive functions run untouched."""
    import ast

    return any(
        isinstance(n, ast.Name) and n.id == func.name
        for stmt in func.body
        for n in ast.walk(stmt)
    )


def _is_dunder(name):
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_generator(func):
    """Whether `yield` occurs in the function's own scope."""
    import ast

    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, nested):
            # Decorators and defaults still run in this scope.
            if isinstance(node, ast.ClassDef):
                stack.extend(node.bases)
                stack.extend(k.value for k in node.keywords)
            else:
                args = node.args
                stack.extend(args.defaults)
                stack.extend(d for d in args.kw_defaults if d is not None)
                if not isinstance(node, ast.Lambda):
                    stack.extend(_annotations(node))
            stack.extend(getattr(node, "decorator_list", ()))
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _annotations(func):
    args = func.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    found = [a.annotation for a in every if a.annotation is not None]
    return found + ([func.returns] if func.returns is not None else [])


def _wrap_statement(func, ident):
    """`NAME = __rote_wrap__(NAME, ident)`, placed on the `def` line."""
    import ast

    stmt = ast.Assign(
        targets=[ast.Name(id=func.name, ctx=ast.Store())],
        value=ast.Call(
            func=ast.Name(id=_WRAP, ctx=ast.Load()),
            args=[ast.Name(id=func.name, ctx=ast.Load()), ast.Constant(value=ident)],
            keywords=[],
        ),
    )
    stmt.lineno = stmt.end_lineno = func.lineno
    stmt.col_offset = func.col_offset
    stmt.end_col_offset = func.col_offset + 3  # the `def` keyword
    return ast.fix_missing_locations(stmt)


# ---------------------------------------------------------------------------
# Identities


def _hash(hasher, module, qualname, *parts):
    data = "\0".join((module, qualname, *parts))
    return bytes(hasher(_IDENTITY_TAG + data.encode("utf-8", "surrogatepass")))


def _def_identity(func, table, module, qualname, hasher):
    names = _renamable(func, table)
    return _hash(hasher, module, qualname, _dump(func, {id(func): names}))


def _method_identity(func, names, header, module, qualname, hasher):
    return _hash(hasher, module, qualname, header, _dump(func, {id(func): names}))


def _class_identity(cls, methods, module, hasher):
    return _hash(hasher, module, cls.name, _dump(cls, methods))


def _class_header(cls):
    """Canonical form of a class without the functions defined directly in its
    body: name, bases, keywords, decorators, type parameters, attributes."""
    import ast

    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
    return _dump(cls, {}, skip={id(s) for s in cls.body if isinstance(s, defs)})


_MODULE = object()


class _Tables:
    """The module's symbol table, built only when first needed."""

    def __init__(self, source, filename):
        self._source = source
        self._filename = filename
        self._top = False

    def find(self, parent, node):
        """The function or class table of `node` inside `parent` (the module
        when `_MODULE`), or None when it cannot be told."""
        if parent is _MODULE:
            if self._top is False:
                try:
                    import symtable

                    top = symtable.symtable(self._source, self._filename, "exec")
                except Exception:  # noqa: BLE001 - no table means no renaming
                    top = None
                self._top = top
            parent = self._top
        if parent is None:
            return None
        return _find_table(parent, node.name, node.lineno)


def _find_table(parent, name, lineno):
    for child in parent.get_children():
        if child.get_name() != name or child.get_lineno() != lineno:
            continue
        kind = str(child.get_type())
        if kind in ("function", "class"):
            return child
        if kind.startswith("type param"):  # PEP 695 annotation scope
            found = _find_table(child, name, lineno)
            if found is not None:
                return found
    return None


class _Renamer:
    """Maps each renamable local name to `<vN>` in order of first use; the
    brackets keep it apart from every identifier a source can contain."""

    def __init__(self, names):
        self._names = names
        self._map = {}

    def __call__(self, name):
        if name not in self._names:
            return name
        new = self._map.get(name)
        if new is None:
            new = self._map[name] = f"<v{len(self._map)}>"
        return new


def _renamable(func, table):
    """Names local to some function scope of `func`'s subtree that can be
    renamed without making two different functions look alike: never
    parameters, names declared global or nonlocal, names read as globals or
    builtins anywhere in the subtree, class attributes, def/class names,
    type parameters, or private (`__x`) names."""
    import ast

    if table is None:
        return set()
    forbidden = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name):
            if node.id in _DYNAMIC_NAMES:
                return set()
        elif isinstance(node, ast.Attribute):
            if node.attr in _DYNAMIC_ATTRS:
                return set()
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            forbidden.add(node.name)
            forbidden.update(_type_param_names(node))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            forbidden.update(node.names)
        elif isinstance(node, ast.Import):
            # `import a.b` binds a, which `as` cannot rename
            forbidden.update(
                a.name.partition(".")[0]
                for a in node.names
                if a.asname is None and "." in a.name
            )
        elif type(node).__name__ == "TypeAlias":
            forbidden.add(node.name.id)
            forbidden.update(_type_param_names(node))
    local = set()
    stack = [table]
    while stack:
        t = stack.pop()
        stack.extend(t.get_children())
        is_function = str(t.get_type()) == "function"
        for sym in t.get_symbols():
            name = sym.get_name()
            if (
                sym.is_parameter()
                or sym.is_global()
                or sym.is_declared_global()
                or sym.is_nonlocal()
                or (t is table and sym.is_free())
            ):
                forbidden.add(name)
            elif sym.is_local() or sym.is_assigned() or sym.is_imported():
                (local if is_function else forbidden).add(name)
    return {n for n in local - forbidden if not n.startswith("__")}


def _type_param_names(node):
    return [p.name for p in getattr(node, "type_params", ())]


def _dump(root, tops, skip=frozenset()):
    """Deterministic text of the normalized `root`: no positions, docstrings,
    type comments, or annotations of functions (annotated assignments in
    class bodies keep theirs: dataclasses and the like read them). In the
    body of each def node whose id is a key of `tops`, the names of the
    mapped set are renamed. Statements whose ids are in `skip` are left out.
    Iterative, so deeply nested expressions do not exhaust the stack."""
    import ast

    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
    out = []
    # Work items: a str to emit, or (value, renamer, scope) with scope "f"
    # inside functions, "c" inside class bodies.
    stack = [(root, None, "c")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        value, ren, scope = item
        if isinstance(value, list):
            kept = [v for v in value if id(v) not in skip]
            out.append("[")
            stack.append("]")
            for i in range(len(kept) - 1, -1, -1):
                stack.append((kept[i], ren, scope))
                if i:
                    stack.append(",")
            continue
        if not isinstance(value, ast.AST):
            out.append(_scalar(value))
            continue
        kind = type(value).__name__
        if kind == "AnnAssign" and scope == "f" and value.value is not None:
            # In a function, `x: T = v` is `x = v`: T is never evaluated.
            kind = "Assign"
            fields = [
                ("targets", [value.target], ren, scope),
                ("value", value.value, ren, scope),
            ]
        else:
            fields = _fields(value, ren, scope, tops, defs)
        out.append(kind + "(")
        stack.append(")")
        for i in range(len(fields) - 1, -1, -1):
            name, v, r, s = fields[i]
            stack.append((v, r, s))
            stack.append(name + "=" if i == 0 else ";" + name + "=")
    return "".join(out)


def _fields(node, ren, scope, tops, defs):
    """(field, value, renamer, scope) of `node` after normalization."""
    import ast

    if isinstance(node, defs):
        inner = ren
        if id(node) in tops:
            names = tops[id(node)]
            inner = _Renamer(names) if names else None
            ren = None  # decorators and defaults run in the enclosing scope
        return [
            ("name", node.name, None, scope),
            ("args", node.args, ren, scope),
            ("body", _strip_docstring(node.body), inner, "f"),
            ("decorator_list", node.decorator_list, ren, scope),
            ("type_params", getattr(node, "type_params", []), ren, scope),
        ]
    if isinstance(node, ast.ClassDef):
        return [
            (f, getattr(node, f), ren, scope)
            for f in node._fields
            if f != "body" and f not in _SKIPPED_FIELDS
        ] + [("body", _strip_docstring(node.body), ren, "c")]
    if isinstance(node, ast.Lambda):
        return [("args", node.args, ren, scope), ("body", node.body, ren, "f")]
    if isinstance(node, ast.arg):
        return [("arg", node.arg, None, scope)]
    if isinstance(node, ast.AnnAssign) and scope == "f":
        # Without a value: `x: T` still makes x local; T is never evaluated.
        return [("target", node.target, ren, scope)]
    if ren is not None:
        if isinstance(node, ast.Name):
            return [("id", ren(node.id), None, scope), ("ctx", node.ctx, None, scope)]
        if isinstance(node, ast.alias):
            asname = node.asname
            if asname is not None:
                asname = ren(asname)
            elif "." not in node.name and ren(node.name) != node.name:
                asname = ren(node.name)
            return [("name", node.name, None, scope), ("asname", asname, None, scope)]
        renamed = _RENAMED_FIELDS.get(type(node).__name__)
        if renamed is not None:
            return [
                (
                    f,
                    ren(getattr(node, f))
                    if f == renamed and getattr(node, f) is not None
                    else getattr(node, f),
                    ren,
                    scope,
                )
                for f in node._fields
                if f not in _SKIPPED_FIELDS
            ]
    return [
        (f, getattr(node, f, None), ren, scope)
        for f in node._fields
        if f not in _SKIPPED_FIELDS
    ]


# Nodes binding a name held as a plain string rather than a Name node.
_RENAMED_FIELDS = {
    "ExceptHandler": "name",
    "MatchAs": "name",
    "MatchStar": "name",
    "MatchMapping": "rest",
}


def _strip_docstring(body):
    import ast

    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:]
    return body


def _scalar(value):
    if value is None:
        return "N"
    if value is Ellipsis:
        return "E"
    if isinstance(value, bool):
        return "b" + repr(value)
    if isinstance(value, int):
        return "i" + hex(value)  # no digit limit, unlike repr
    if isinstance(value, float):
        return "f" + repr(value)
    if isinstance(value, str):
        return "s" + repr(value)
    if isinstance(value, bytes):
        return "y" + repr(value)
    return type(value).__name__ + ":" + repr(value)


# ---------------------------------------------------------------------------
# Functions from modules that were not rewritten


def function_identity(func, hasher):
    """Identity of a function object from its source (the same one `rewrite`
    gives top-level functions and methods), or from its code when the source
    is unavailable; None when neither can be had."""
    func = getattr(func, "__func__", func)  # bound methods
    module = getattr(func, "__module__", None) or ""
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", "")
    try:
        ident = _source_identity(func, module, qualname, hasher)
    except Exception:  # noqa: BLE001 - any failure falls back to the code
        ident = None
    if ident is not None:
        return ident
    code = getattr(func, "__code__", None)
    if not isinstance(code, _CodeType):
        return None
    parts = []
    _code_parts(code, parts)
    data = f"{module}\0{qualname}".encode("utf-8", "surrogatepass")
    return bytes(hasher(_CODE_TAG + data + b"\0" + b"\0".join(parts)))


def _source_identity(func, module, qualname, hasher):
    import inspect

    code = getattr(func, "__code__", None)
    if not isinstance(code, _CodeType) or code.co_name == "<lambda>":
        return None
    ident = _file_identity(func, code, module, qualname, hasher)
    if ident is not None:
        return ident
    return _snippet_identity(func, code, module, qualname, hasher, inspect)


def _file_identity(func, code, module, qualname, hasher):
    """A top-level function or a method of a top-level class, found in its
    module's source as `rewrite` would see it."""
    import ast
    import inspect
    import linecache

    parts = qualname.split(".")
    if len(parts) > 2 or "<locals>" in parts:
        return None
    filename = inspect.getsourcefile(func)
    if not filename:
        return None
    globs = getattr(func, "__globals__", None)
    text = "".join(linecache.getlines(filename, globs))
    if not text:
        return None
    tree = ast.parse(text, filename)
    tables = _Tables(text, filename)
    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
    line = code.co_firstlineno
    for stmt in tree.body:
        if len(parts) == 1:
            if (
                isinstance(stmt, defs)
                and stmt.name == parts[0]
                and _first_line(stmt) == line
            ):
                table = tables.find(_MODULE, stmt)
                return _def_identity(stmt, table, module, qualname, hasher)
            continue
        if not isinstance(stmt, ast.ClassDef) or stmt.name != parts[0]:
            continue
        for m in stmt.body:
            if isinstance(m, defs) and m.name == parts[1] and _first_line(m) == line:
                table = tables.find(tables.find(_MODULE, stmt), m)
                names = _renamable(m, table)
                header = _class_header(stmt)
                return _method_identity(m, names, header, module, qualname, hasher)
    return None


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _snippet_identity(func, code, module, qualname, hasher, inspect):
    """Any other function: its own source, analysed on its own (names of
    enclosing functions then read as globals, so are never renamed)."""
    import ast
    import symtable

    text = inspect.getsource(func)
    if text[:1].isspace():
        text = "if 1:\n" + text
    tree = ast.parse(text)
    node = tree.body[0]
    if isinstance(node, ast.If):
        node = node.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if node.name != code.co_name:
        return None
    try:
        table = _find_table(
            symtable.symtable(text, "<rote>", "exec"), node.name, node.lineno
        )
    except Exception:  # noqa: BLE001
        table = None
    return _def_identity(node, table, module, qualname, hasher)


def _code_parts(code, parts):
    """Structure of a code object and the ones nested in it, without line
    numbers: instructions, exception table, constants, names, flags."""
    parts.append(b"code")
    parts.append(code.co_code)
    parts.append(code.co_exceptiontable)
    for attr in ("co_names", "co_varnames", "co_freevars", "co_cellvars"):
        parts.append(repr(getattr(code, attr)).encode("utf-8", "surrogatepass"))
    counts = (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
    )
    parts.append(repr((code.co_name, *counts)).encode("utf-8", "surrogatepass"))
    for const in code.co_consts:
        _const_parts(const, parts)


def _const_parts(const, parts):
    if isinstance(const, _CodeType):
        _code_parts(const, parts)
    elif isinstance(const, (tuple, frozenset)):
        parts.append(type(const).__name__.encode())
        sub = []
        for c in const:
            one = []
            _const_parts(c, one)
            sub.append(b"\1".join(one))
        if isinstance(const, frozenset):
            sub.sort()  # iteration order depends on the hash seed
        parts.append(b"(" + b"\2".join(sub) + b")")
    else:
        parts.append(_scalar(const).encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------------
# Cached loading


def load_code(source, filename, module, hasher, code_dir):
    """`rewrite`, with its result kept under `code_dir` (None: not kept) so a
    later run with the same interpreter, file name, module name and source
    neither parses nor imports `ast`."""
    if code_dir is None:
        return rewrite(source, filename, module, hasher)
    key = bytes(
        hasher(
            _CACHE_TAG
            + sys.version.encode()
            + b"\0"
            + os.fsencode(filename)
            + b"\0"
            + module.encode("utf-8", "surrogatepass")
            + b"\0"
            + source
        )
    ).hex()
    directory = os.path.join(code_dir, key[:2])
    path = os.path.join(directory, key)
    cached = _read_cached(path)
    if cached is not None:
        return cached
    result = rewrite(source, filename, module, hasher)
    _write_cached(directory, path, result)
    return result


def _read_cached(path):
    try:
        with open(path, "rb") as f:
            value = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (
        type(value) is tuple
        and len(value) == 2
        and isinstance(value[0], _CodeType)
        and type(value[1]) is dict
        and all(type(k) is str and type(v) is bytes for k, v in value[1].items())
    ):
        return None
    return value


def _write_cached(directory, path, result):
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        data = marshal.dumps(result)
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------------------
# Import hook


class RoteLoader(SourceFileLoader):
    """A source loader whose code comes from rote's `load` (rewritten, cached
    by rote) instead of compiling the source or reading `__pycache__`."""

    def __init__(self, fullname, path, load):
        super().__init__(fullname, path)
        self._rote_load = load

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        if not sys.dont_write_bytecode:
            # What python itself would do, for its side effects only: the
            # module's plain bytecode in `__pycache__` (written when stale),
            # so the files a run leaves are the same as under python. A
            # syntax error surfaces here exactly as in a plain import.
            super().get_code(fullname)
        source = self.get_data(path)
        try:
            return self._rote_load(source, path, fullname)[0]
        except (SyntaxError, RecursionError):
            # A source python rejects: let its own compile raise the error as
            # a plain import would. Too deep for `ast`: run it unwrapped.
            return self.source_to_code(source, path)


# Introspection (`type(module.__loader__).__name__`, its repr) shows the
# loader python would have used.
RoteLoader.__name__ = RoteLoader.__qualname__ = SourceFileLoader.__name__
RoteLoader.__module__ = SourceFileLoader.__module__


class RoteFinder:
    """Meta-path finder giving a `RoteLoader` to the source modules under the
    project roots, except those of the interpreter and of site-packages."""

    def __init__(self, roots, load):
        self._roots = [_with_sep(os.path.realpath(r)) for r in roots]
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        self._excluded = [_with_sep(os.path.realpath(p)) for p in prefixes if p]
        self._load = load
        self._dirs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in sys.builtin_module_names:
            return None
        # Only the search-path entries that are project directories can hold
        # a module rote rewrites: searching just those keeps the hundreds of
        # library imports of numpy or pandas from being searched twice. (A
        # file symlinked from a library directory into the project is not
        # seen this way; a library directory that is a symlink into the
        # project is.)
        entries = list(sys.path if path is None else path)
        project = [e for e in entries if self._covers_dir(e)]
        if not project:
            return None
        spec = PathFinder.find_spec(fullname, project, target)
        if spec is not None and len(project) < len(entries):
            # An entry ahead of the project's may shadow the module: ask the
            # whole path which one an import would get.
            spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, SourceFileLoader):
            return None
        origin = spec.origin
        if not origin or not origin.endswith(".py") or not self.covers(origin):
            return None
        spec.loader = RoteLoader(fullname, origin, self._load)
        return spec

    def covers(self, filename):
        """Whether the source file `filename` is one rote rewrites."""
        return self._covers_real(os.path.realpath(filename))

    def _covers_real(self, real):
        if not any(real.startswith(root) for root in self._roots):
            return False
        if any(real.startswith(prefix) for prefix in self._excluded):
            return False
        parts = real.split(os.sep)
        return "site-packages" not in parts and "dist-packages" not in parts

    def _covers_dir(self, entry):
        """Whether the search-path entry `entry` is a project directory.
        Remembered per directory; `""` is the current one, whichever that
        is at the time."""
        if not isinstance(entry, str):
            return False
        if not entry:
            entry = os.getcwd()
        known = self._dirs.get(entry)
        if known is None:
            known = self._covers_real(_with_sep(os.path.realpath(entry)))
            self._dirs[entry] = known
        return known

    def invalidate_caches(self):
        pass


def _with_sep(path):
    return path if path.endswith(os.sep) else path + os.sep


def install_finder(roots, load):
    """Put a `RoteFinder` first in `sys.meta_path` and return it."""
    finder = RoteFinder(roots, load)
    sys.meta_path.insert(0, finder)
    return finder
