"""Type stubs for the `rote` module built into the rote executable.

The module exists only inside a rote process (`rote run`, or children started
through `sys.executable`); this stub-only package (PEP 561) gives editors and
type checkers its interface.
"""

from collections.abc import Callable
from typing import Any, overload

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
