"""The features the benchmarks train on: SFEW.xlsx when it is found, else synthetic ones.

The benchmarks run as scripts (``python benchmarks/bench_kfold.py``), so this module is
imported from the scripts' own folder.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

#: Where the project's data lives beside a clone (``../shared/data/sfew``).
DEFAULT_SHEET = Path(__file__).resolve().parents[2] / "shared" / "data" / "sfew" / "SFEW.xlsx"


def load_features(path: str | None, tool: str):
    """``(X, y, description)``: ``--data`` (it must exist), else SFEW.xlsx beside the clone,
    else :func:`synthetic_features` of the same shape (675 x 10, 7 classes)."""
    sheet = Path(path) if path else DEFAULT_SHEET
    if sheet.is_file():
        from bpnet.data.sfew import load_sfew_features

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the loader's notes about the real file's quirks
            ds = load_sfew_features(sheet)
        return ds.X, ds.y, sheet.name
    if path:
        raise SystemExit(f"{tool}: --data {path}: no such file")
    X, y = synthetic_features(675, np.random.default_rng(0))
    return X, y, "synthetic features (675 x 10)"


def synthetic_features(n: int, rng: np.random.Generator, d: int = 10, C: int = 7):
    """Gaussian class clusters, weakly separated, one skewed column (like SFEW's lpq_pc1)."""
    y = np.arange(n) % C
    X = rng.normal(size=(n, d)) + 0.4 * rng.normal(size=(C, d))[y]
    X[:, 0] = np.exp(X[:, 0])
    return X, y
