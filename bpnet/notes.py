"""Warnings shown to a command-line user as the tool's own ``note:`` lines.

Inside the library a data quirk (a duplicate name, a skipped file, a filled missing value)
is a warning that callers can filter or turn into errors. On the command line Python's
default display adds the file and line of the ``warnings.warn`` call, which tells a user
nothing; :func:`warnings_as_notes` shows the message alone, as ``note: ...`` on stderr,
each distinct message once. Filters are untouched: ``-W error`` still raises.
"""
from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Iterator

__all__ = ["warnings_as_notes"]


@contextlib.contextmanager
def warnings_as_notes() -> Iterator[None]:
    """Within the block, every warning shown is printed as ``note: <message>`` (once)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).strip()
        if text not in seen:
            seen.add(text)
            print(f"note: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
