"""Type stubs for the `rote` module built into the rote executable.

The module exists only inside a rote process (`rote run`, or children started
through `sys.executable`); this stub-only package (PEP 561) gives editors and
type checkers its interface.
"""

__version__: str
