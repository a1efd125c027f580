"""Saving and loading models: one ``.npz`` of arrays plus JSON metadata, no pickles.

The file is an ordinary NumPy ``.npz`` archive. Arrays are stored under their
own names; the entry ``__bpnet__`` is a 0-d unicode array holding a JSON
document with the format version, the kind of object and its configuration.
Loading uses ``np.load(..., allow_pickle=False)``, so a file cannot execute
code, and any file that is not a complete bpnet archive raises a ``ValueError``
saying so.

This is the file layer: it knows the network (:class:`~bpnet.network.BPNetwork`)
but the network does not know it. Higher layers that save objects of their own
(the estimator) register a kind with :func:`register_kind`, so :func:`load` can
rebuild them without this module importing theirs.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .input_checks import check_memory
from .network import BPNetwork
from .outdir import atomic_write

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
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a handle: np.savez would add ".npz" to a file name
            np.savez(fh, **payload)

    return atomic_write(path, write)


def check_version(version: object, newest: int, what: str) -> int:
    """``version`` when this bpnet-fer could have written it (an int from 1 to ``newest``).

    The one check of every model file's format version (``bpnet.load``, the image pipelines,
    ``resnet_fer``'s model files): anything else is a ValueError saying which ``what``
    (e.g. ``"format"``) and, for a larger number, that a newer bpnet-fer is needed.
    """
    if isinstance(version, int) and not isinstance(version, bool) and version > newest:
        raise ValueError(f"{what} version {version} is not a version this bpnet wrote: it "
                         f"needs a newer bpnet-fer (this one reads 1 to {newest}); upgrade "
                         "bpnet-fer to use it")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{what} version {version!r} is not a version this bpnet wrote "
                         f"(it reads 1 to {newest})")
    return version


def _check_meta(path: Path, meta: object) -> dict:
    """The metadata, when it is a bpnet document of a version this bpnet wrote."""
    if meta is None:
        raise ValueError(f"{path} is not a bpnet model file (no {META_KEY!r} entry)")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a bpnet model file (format tag missing)")
    try:
        check_version(meta.get("version"), FORMAT_VERSION, "format")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return meta


def _element_bound(path: Path, meta: dict) -> int | None:
    """The most elements any array of a network with this config holds (None: no config)."""
    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        return None
    try:
        n_in, hidden, n_out = (int(cfg[k]) for k in ("n_inputs", "n_hidden", "n_outputs"))
        models = int(cfg.get("n_models") or 1)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: model file is incomplete or inconsistent: {exc}") from None
    if min(n_in, hidden, n_out, models) < 1:
        raise ValueError(f"{path}: model file is inconsistent: its config has a size below 1")
    return models * max((n_in + 1) * hidden, (hidden + 1) * n_out)


def _check_headers(path: Path, data, meta: dict) -> None:
    """Each array's declared size, read from its header, before any array is allocated.

    An array may hold no more bytes than its zip entry declares, nor more elements than
    the network its config describes; the whole must fit in the memory available.
    """
    bound = _element_bound(path, meta)
    total = 0
    for name in data.files:
        if name == META_KEY:
            continue
        info = data.zip.getinfo(f"{name}.npy")
        with data.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:  # 3.0 (UTF-8 field names) is never written for plain arrays
                raise ValueError(f"{path}: array {name} has .npy format {version}")
        count = int(np.prod(shape, dtype=object))
        nbytes = count * dtype.itemsize
        total += nbytes
        if nbytes > info.file_size or (bound is not None and count > bound):
            raise ValueError(
                f"{path}: model file is inconsistent: array {name} declares shape "
                f"{tuple(shape)} ({nbytes / 2**30:.1f} GiB), more than "
                + ("its entry in the file holds" if nbytes > info.file_size
                   else f"its config implies (at most {bound} values)"))
    check_memory(total, f"{path}")


def load_arrays(path) -> tuple[dict, dict]:
    """Read a bpnet archive: ``(meta, arrays)``. Raises ValueError for anything else.

    The metadata and every array's header are checked before any array is read, so a file
    that declares an absurd array is refused without allocating it.
    """
    path = Path(path)
    try:
        # our own handle, closed on every path (np.load leaks it when the zip is broken)
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            files = data.files
            meta = json.loads(str(data[META_KEY])) if META_KEY in files else None
            meta = _check_meta(path, meta)
            _check_headers(path, data, meta)
            arrays = {name: data[name] for name in files if name != META_KEY}
    except (FileNotFoundError, IsADirectoryError, MemoryError):
        raise
    except ValueError as exc:
        if str(exc).startswith(str(path)):  # our own checks: they name the file already
            raise
        raise ValueError(f"{path} is not a readable bpnet model file "
                         f"(truncated or foreign?): {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, TypeError,
            AttributeError) as exc:
        # ValueError: numpy refuses a file that would need pickle; TypeError/AttributeError:
        # a bare .npy array, which has no entries
        raise ValueError(f"{path} is not a readable bpnet model file "
                         f"(truncated or foreign?): {exc}") from None
    return meta, arrays


ToArrays = Callable[[Any], "tuple[dict, dict]"]
FromArrays = Callable[[dict, dict], Any]
#: kind name -> (class, to_arrays, from_arrays); see :func:`register_kind`
_KINDS: dict[str, tuple[type, ToArrays, FromArrays]] = {}


def register_kind(name: str, cls: type, to_arrays: ToArrays, from_arrays: FromArrays) -> None:
    """Teach :func:`save` and :func:`load` a kind of object.

    ``to_arrays(obj) -> (meta, arrays)`` gives JSON-serialisable metadata and a dict of
    arrays; ``from_arrays(meta, arrays) -> obj`` rebuilds the object (raising ValueError
    on inconsistent contents).
    """
    _KINDS[name] = (cls, to_arrays, from_arrays)


def save(obj, path) -> Path:
    """Save a :class:`~bpnet.BPNetwork` or a fitted :class:`~bpnet.BPClassifier` to ``path``.

    The suffix ``.npz`` is added when missing; returns the path written.
    """
    for name, (cls, to_arrays, _) in _KINDS.items():
        if type(obj) is cls:
            meta, arrays = to_arrays(obj)
            return save_arrays(path, name, meta, arrays)
    raise TypeError(f"cannot save a {type(obj).__name__}; known kinds: {', '.join(_KINDS)}")


def load(path, expect: type | None = None):
    """Load what :func:`save` wrote; returns a BPNetwork or a BPClassifier.

    With ``expect`` (a class), anything else in the file is a ValueError.
    """
    meta, arrays = load_arrays(path)
    if meta.get("kind") not in _KINDS:
        raise ValueError(f"{path}: unknown object kind {meta.get('kind')!r}")
    obj = _KINDS[meta["kind"]][2](meta, arrays)
    if expect is not None and not isinstance(obj, expect):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a {expect.__name__}")
    return obj


def network_to_arrays(net: BPNetwork) -> tuple[dict, dict]:
    """``(meta, arrays)`` of a network: its config and notes, its parameters and unit mask."""
    arrays = dict(net.params)
    if net.unit_mask is not None:
        arrays["unit_mask"] = net.unit_mask
    return {"config": net.config(), "info": net.info}, arrays


def network_from_arrays(meta: dict, arrays: dict) -> BPNetwork:
    """Inverse of :func:`network_to_arrays`; ValueError when the arrays disagree with the config
    or hold anything but finite real numbers."""
    try:
        cfg = dict(meta["config"])
        net = BPNetwork(**cfg, seed=0)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc}") from None
    for name in ("W1", "b1", "W2", "b2"):
        if name not in arrays:
            raise ValueError(f"model file is incomplete: no array {name}")
        arr = arrays[name]
        if arr.dtype.kind not in "fiu":
            raise ValueError(f"array {name} holds {arr.dtype} values, not real numbers")
        if arr.shape != net.params[name].shape:
            raise ValueError(f"array {name} has shape {arr.shape}, config says "
                             f"{net.params[name].shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"array {name} holds NaN or inf: the model cannot be used")
        net.params[name] = arr.astype(net.dtype)
    mask = arrays.get("unit_mask")
    if mask is not None:
        want = net.params["b1"].shape
        if mask.shape != want or mask.dtype.kind not in "fiub" or not np.all(np.isin(mask, (0, 1))):
            raise ValueError(f"array unit_mask must hold 0/1 values of shape {want}, got "
                             f"{mask.dtype} {mask.shape}")
        mask = mask.astype(net.dtype)
    net.unit_mask = mask
    net.info = meta.get("info", {})
    return net


register_kind("BPNetwork", BPNetwork, network_to_arrays, network_from_arrays)
