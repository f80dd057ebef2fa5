# Checks the standard streams' configuration: encoding, errors, buffering, isatty, names, modes, fds.
import sys

for name in ("stdin", "stdout", "stderr"):
    s = getattr(sys, name)
    print(name, s.name, s.mode, s.encoding, s.errors)
    print(f"  line_buffering={s.line_buffering} write_through={s.write_through} isatty={s.isatty()}")
    print(f"  fileno={s.fileno()} closed={s.closed} readable={s.readable()} writable={s.writable()}")
    raw = getattr(s.buffer, "raw", s.buffer)
    print("  types:", type(s).__name__, type(s.buffer).__name__, type(raw).__name__, raw.name)
    print("  same as dunder:", s is getattr(sys, f"__{name}__"))
print("filesystem encoding:", sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
print("default encoding:", sys.getdefaultencoding())
