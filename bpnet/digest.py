"""Content digests of a run's inputs, so that ``--resume`` never reuses results of other data.

A run records, for every input file (a feature sheet, each image of an image folder), its
size, modification time and a BLAKE2 hash of its bytes. Resuming compares the recorded
digests with the files as they are now: an edited sheet, or an image replaced, added or
removed, is found even when the size and the time stamp were kept (a re-export, a copy
that keeps the times). The modification time is recorded for the reader; the decision
rests on the size and the bytes, so a copy of the same files (new times) still resumes.

The ResNet's decoded-image cache (:mod:`bpnet.data.imagecache`) hashes files with the same
:func:`file_digest`.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

__all__ = ["describe_change", "file_digest", "input_digests"]


def file_digest(path: str | Path) -> str:
    """A 128-bit BLAKE2 digest of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_files(root: Path) -> list[Path]:
    """Every file of ``root/<Class>/``, hidden ones aside (a superset of the images read)."""
    files = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files += sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
    return files


def input_digests(folder: str | Path | None = None,
                  files: Iterable[str | Path | None] = ()) -> dict[str, list]:
    """``{path: [size, mtime_ns, blake2 hex]}`` for an image folder's files and other files.

    Parameters
    ----------
    folder : str or Path, optional
        An ``<Emotion>/<name>.<ext>`` image folder; every file in its class folders.
    files : iterable of str or Path (None entries are skipped)
        Single inputs, e.g. a feature sheet.

    Returns
    -------
    dict
        Keyed by the path as given (``folder/Class/name``), in a stable order. Missing or
        unreadable paths are left out: the command that reads them reports them.
    """
    paths = [Path(f) for f in files if f is not None]
    if folder is not None and Path(folder).is_dir():
        paths += _folder_files(Path(folder))
    paths = [p for p in paths if p.is_file()]

    def one(path: Path) -> list:
        info = path.stat()
        return [info.st_size, info.st_mtime_ns, file_digest(path)]

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        # hashlib releases the GIL on large blocks, so threads overlap reading and hashing
        return dict(zip((str(p) for p in paths), pool.map(one, paths)))


def describe_change(old: dict[str, list], new: dict[str, list]) -> str | None:
    """The first input (in name order) that differs between two digests, in words, or None."""
    for name in sorted(set(old) | set(new)):
        if name not in new:
            return f"{name} was removed"
        if name not in old:
            return f"{name} was added"
        was, now = old[name], new[name]
        if was[0] != now[0] or was[2] != now[2]:  # size or bytes; a new time alone is a copy
            return f"{name} was changed"
    return None
