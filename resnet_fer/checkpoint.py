"""Atomic, pickle-free checkpoints.

A checkpoint holds only tensors, numbers, strings, lists, tuples and dicts, so it loads
with ``torch.load(..., weights_only=True)`` (no arbitrary code runs on load). It is written
to a temporary file in the same folder and moved into place with ``os.replace``, which is
atomic: a run killed mid-write leaves the previous checkpoint intact.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]

FORMAT = 2  # 2: curves under bpnet.results' names, results as FoldResult.to_dict


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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        torch.save({"format": FORMAT, **state}, handle)
        handle.flush()
        os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them visible
    os.replace(tmp, path)
    return path


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
        raise ValueError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a resnet_fer checkpoint of format {FORMAT}")
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
