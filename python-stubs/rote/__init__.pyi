"""Type stubs for the `rote` module built into the rote executable.

The module exists only inside a rote process (`rote run`, or children started
through `sys.executable`); this stub-only package (PEP 561) gives editors and
type checkers its interface.
"""

from collections.abc import Callable
from typing import Any, TypedDict, overload

__version__: str

@overload
def cache[F: Callable[..., Any]](func: F, /) -> F: ...
@overload
def cache[F: Callable[..., Any]](
    *, min_duration: float | str | None = None
) -> Callable[[F], F]: ...
def configure(*, min_duration: float | str = ..., enabled: bool = ...) -> None:
    """Change this run's settings: `min_duration` in seconds or as text
    (`"100ms"`), `enabled` to turn memoization off and on."""

class RoteError(Exception):
    """A failure of rote's own (its cache could not be read or written), as
    opposed to the script's."""

class _FunctionStats(TypedDict):
    hits: int
    misses: int
    stored: int
    time_saved_s: float
    reasons: dict[str, int]

class Stats(TypedDict):
    """This run so far, and the cache as it stands."""

    hits: int
    misses: int
    stored: int
    time_saved_s: float
    entries: int
    bytes: int
    invalidation_reasons: dict[str, int]
    functions: dict[str, _FunctionStats]

def stats() -> Stats:
    """This run's hits, misses, stored calls, seconds saved and the reasons
    calls were not served or not stored (in total and per function), and the
    cache's entries and bytes. All 0 outside `rote run`."""

def invalidate(target: Callable[..., Any] | str | None = None) -> int:
    """Drop the entries of one function (the function itself, `"module.qualname"`
    or a bare qualname such as `"Model.fit"`), or of every function with no
    target; return how many. Statistics are kept."""

def clear() -> None:
    """Wipe the cache: entries, stored values and files, statistics."""
