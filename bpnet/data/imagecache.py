"""The decoded-image cache of :func:`~bpnet.data.image_dataset.load_image_folder`: one ``.npz``
per folder and settings.

The key is a hash of the file names, every file's bytes and the decode settings, so an
image rewritten in place (even with the same size and time stamp) is decoded again. A cache
file that cannot be read is rebuilt with a warning; one that cannot be written (a full or
read-only disk) is skipped with a warning: the cache only saves time.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..digest import file_digest  # one hash of file bytes, shared with --resume's check

__all__ = ["CACHE_FORMAT", "cache_key", "default_cache_dir", "read_cache", "try_write_cache",
           "write_cache"]

#: Bumped when the cached arrays change meaning (format 2 added the crop status of each
#: image, format 3 decodes through bpnet.data.imageio.read_image).
CACHE_FORMAT = 3


def default_cache_dir() -> Path:
    """``$RESNET_FER_CACHE``, else ``$XDG_CACHE_HOME/resnet_fer``, else ``~/.cache/resnet_fer``."""
    if os.environ.get("RESNET_FER_CACHE"):
        return Path(os.environ["RESNET_FER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "resnet_fer"


def cache_key(folder, settings: dict, pool: ThreadPoolExecutor) -> str:
    """A hash of the file names, every file's bytes and the settings.

    The bytes, not the size or the time stamp: an image overwritten with other pixels of the
    same size (a re-export, a copy that keeps the times) must not train from the old pixels.
    Hashing reads each file once, a small fraction of what decoding it costs.
    """
    digests = pool.map(file_digest, folder.paths)  # hashlib releases the GIL on large blocks
    files = [[str(p.relative_to(folder.root)), d] for p, d in zip(folder.paths, digests)]
    blob = json.dumps({"format": CACHE_FORMAT, "files": files, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def read_cache(path: Path, key: str) -> dict | None:
    """The cached arrays, or None when missing; a broken file warns and returns None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays["meta"]))
        n = len(arrays["y"])
        if meta.get("key") != key or arrays["images"].dtype != np.uint8 or len(arrays["images"]) != n:
            raise ValueError("contents do not match the key")
        return arrays
    except Exception as exc:  # zip, npy and json errors alike mean "rebuild"
        warnings.warn(f"image cache {path} is unreadable ({type(exc).__name__}: {exc}); rebuilding it",
                      RuntimeWarning, stacklevel=3)
        return None


def write_cache(path: Path, arrays: dict) -> None:
    """Save ``arrays`` as ``path`` (an ``.npz``) through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def try_write_cache(path: Path, arrays: dict) -> bool:
    """:func:`write_cache`, or a warning when it fails: the cache only saves time."""
    try:
        write_cache(path, arrays)
    except OSError as exc:
        why = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror or exc
        warnings.warn(f"cannot write the image cache {path} ({why}); continuing without it",
                      RuntimeWarning, stacklevel=3)
        return False
    return True
