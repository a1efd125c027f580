"""Atomic, pickle-free checkpoints.

A checkpoint holds only tensors, numbers, strings, lists, tuples and dicts, so it loads
with ``torch.load(..., weights_only=True)`` (no arbitrary code runs on load). It is written
to a temporary file in the same folder and moved into place with ``os.replace``, which is
atomic: a run killed mid-write leaves the previous checkpoint intact. A write that fails (a
full disk) removes its temporary file and raises :class:`CheckpointWriteError`; the
temporary files of a killed process are removed by :func:`remove_stale_temporaries`.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "CheckpointWriteError", "load_checkpoint", "remove_stale_temporaries",
           "rng_state", "save_checkpoint", "set_rng_state"]

FORMAT = 2  # 2: curves under bpnet.results' names, results as FoldResult.to_dict
#: What to do about a checkpoint that cannot be used (said after naming the file)
CORRUPT_HINT = "delete it, or start the run over with --force"


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the previous one (if any) is intact."""


def _reason(exc: BaseException) -> str:
    """Why a write failed, in words: torch wraps the OSError of a full disk in a RuntimeError."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return "no space left on the device"
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, ``os.replace``).

    Parameters
    ----------
    state : dict
        Tensors, numbers, strings and containers of them only.
    path : str or Path

    Returns
    -------
    Path

    Raises
    ------
    CheckpointWriteError
        When the file cannot be written (e.g. "no space left on the device"); no temporary
        file is left behind and an earlier checkpoint at ``path`` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            torch.save({"format": FORMAT, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointWriteError(f"cannot write checkpoint {path}: {_reason(exc)}") from exc
    except BaseException:  # Ctrl-C mid-write: no half file left behind either
        tmp.unlink(missing_ok=True)
        raise
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return pid > 0


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary checkpoints (``.<name>.pt.<pid>.tmp``) killed processes left in ``folder``.

    Files of processes still running are left alone. Returns the removed paths.
    """
    removed = []
    for tmp in Path(folder).glob(".*.pt.*.tmp"):  # checkpoints' only: a user's .tmp stays
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises
    ------
    ValueError
        If the file is not a checkpoint of a known format (the message names the file).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ValueError(f"cannot read checkpoint {path} ({why}); {CORRUPT_HINT}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a resnet_fer checkpoint of format {FORMAT}; "
                         f"{CORRUPT_HINT}")
    return state


def rng_state(device: torch.device) -> dict[str, Any]:
    """Torch's global CPU (and, on CUDA, the device's) generator states: dropout draws from them."""
    state = {"cpu": torch.get_rng_state(), "cuda": None}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["cpu"].cpu())
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)
