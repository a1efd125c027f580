"""Checks of the environment a command runs in, made before any work.

``MPLBACKEND`` set to a name matplotlib does not know makes ``import matplotlib`` itself
fail; the commands draw their figures last, so without this check the mistake surfaced
after the training, as a message that did not name the variable.
"""
from __future__ import annotations

import os

__all__ = ["check_matplotlib"]


def check_matplotlib() -> None:
    """Raise ValueError (one line naming ``MPLBACKEND``) when matplotlib cannot be imported
    because of it; other import problems are left to the code that draws."""
    backend = os.environ.get("MPLBACKEND")
    if not backend:
        return
    try:
        import matplotlib  # noqa: F401 - the import validates MPLBACKEND
    except ValueError:
        raise ValueError(f"the environment variable MPLBACKEND={backend!r} is not a matplotlib "
                         "backend; unset it or set it to 'agg' (the figures are drawn "
                         "without a display)") from None
    except ImportError:
        return
