"""Saving and loading models: one ``.npz`` of arrays plus JSON metadata, no pickles.

The file is an ordinary NumPy ``.npz`` archive. Arrays are stored under their
own names; the entry ``__bpnet__`` is a 0-d unicode array holding a JSON
document with the format version, the kind of object and its configuration.
Loading uses ``np.load(..., allow_pickle=False)``, so a file cannot execute
code, and any file that is not a complete bpnet archive raises a ``ValueError``
saying so.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "bpnet"
FORMAT_VERSION = 1
META_KEY = "__bpnet__"


def save_arrays(path, kind: str, meta: dict, arrays: dict) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, **meta}
    payload = {META_KEY: np.array(json.dumps(doc))}
    for name, value in arrays.items():
        if name == META_KEY:
            raise ValueError(f"array name {META_KEY!r} is reserved")
        payload[name] = np.asarray(value)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_arrays(path) -> tuple[dict, dict]:
    """Read a bpnet archive: ``(meta, arrays)``. Raises ValueError for anything else."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            files = data.files
            meta = json.loads(str(data[META_KEY])) if META_KEY in files else None
            arrays = {name: data[name] for name in files if name != META_KEY}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, TypeError) as exc:
        # ValueError: numpy refuses a file that would need pickle; TypeError: a bare .npy array
        raise ValueError(f"{path} is not a readable bpnet model file "
                         f"(truncated or foreign?): {exc}") from exc
    if meta is None:
        raise ValueError(f"{path} is not a bpnet model file (no {META_KEY!r} entry)")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a bpnet model file (format tag missing)")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer bpnet (format version {meta['version']})")
    return meta, arrays


def save(obj, path) -> Path:
    """Save a :class:`~bpnet.BPNetwork` or a fitted :class:`~bpnet.BPClassifier`."""
    return obj.save(path)


def load(path, expect: type | None = None):
    """Load what :func:`save` wrote; returns a BPNetwork or a BPClassifier.

    With ``expect`` (a class), anything else in the file is a ValueError.
    """
    from .estimator import BPClassifier

    meta, arrays = load_arrays(path)
    kinds = {"BPNetwork": network_from_arrays, "BPClassifier": BPClassifier._from_arrays}
    if meta.get("kind") not in kinds:
        raise ValueError(f"{path}: unknown object kind {meta.get('kind')!r}")
    obj = kinds[meta["kind"]](meta, arrays)
    if expect is not None and not isinstance(obj, expect):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a {expect.__name__}")
    return obj


def network_to_arrays(net) -> tuple[dict, dict]:
    arrays = dict(net.params)
    if net.unit_mask is not None:
        arrays["unit_mask"] = net.unit_mask
    return {"config": net.config(), "info": net.info}, arrays


def network_from_arrays(meta: dict, arrays: dict):
    from .network import BPNetwork

    cfg = dict(meta["config"])
    try:
        net = BPNetwork(**cfg, seed=0)
        for name in ("W1", "b1", "W2", "b2"):
            if arrays[name].shape != net.params[name].shape:
                raise ValueError(f"array {name} has shape {arrays[name].shape}, "
                                 f"config says {net.params[name].shape}")
            net.params[name] = arrays[name].astype(net.dtype)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc}") from exc
    net.unit_mask = arrays.get("unit_mask")
    net.info = meta.get("info", {})
    return net
