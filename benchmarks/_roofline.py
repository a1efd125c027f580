"""How far bpnet's k-fold training is from this machine's floor, and where the rest goes.

The floor of one epoch of the stacked protocol (K folds x n rows, d -> H -> C, the fused
pass of :mod:`bpnet.fused`) is the time of its five matrix products (and the two
matrix-vector products of its bias gradients), measured on the very shapes bpnet uses
(``np.matmul`` into preallocated buffers, one thread), plus one ``tanh``
pass over the hidden block: nothing can train the network with less. Everything else
(output units, loss, the backward's elementwise products, Adam, the curves) is what the
floor leaves out. Imported from the scripts' own folder (``benchmarks/``).
"""
from __future__ import annotations

import cProfile
import pstats
import statistics
import time

import numpy as np

import bpnet
from bpnet.fused import padded_rows


def _best_time(fn, repeats: int = 30, inner: int = 20) -> float:
    """Seconds per call: median of ``repeats`` timings of ``inner`` calls each."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def gemm_shapes(K: int, n: int, d: int, H: int, C: int) -> list[tuple]:
    """The products of one epoch as the fused pass calls them, ``(name, a, b)`` with
    ``np.matmul`` of arrays of shapes ``a`` and ``b`` (its padded output rows ``Cp`` and its
    bias gradients as matrix-vector products: :mod:`bpnet.fused`)."""
    Cp = padded_rows(C)
    return [("forward hidden  P1 @ XaT", (K, H, d + 1), (K, d + 1, n)),
            ("forward output  P2 @ [A; 1]", (K, Cp, H + 1), (K, H + 1, n)),
            ("backward dW2  G @ A.T", (K, Cp, n), (K, n, H)),
            ("backward db2  G @ 1", (K * Cp, n), (n,)),
            ("backward dA  Q @ G", (K, H, C), (K, C, n)),
            ("backward dW1  dZ @ X.T", (K, H, n), (K, n, d)),
            ("backward db1  dZ @ 1", (K * H, n), (n,))]


def useful_flops(K: int, n: int, d: int, H: int, C: int) -> int:
    """FLOPs of one epoch's five products (2 per multiply-add, biases included, no padding)."""
    return 2 * K * n * (2 * H * (d + 1) + 2 * C * (H + 1) + H * C)


def roofline(K: int, n: int, d: int, H: int, C: int, epochs: int, bpnet_seconds: float,
             dtype=np.float32) -> dict:
    """The protocol's FLOPs, bpnet's achieved rate, the measured GEMM rate on the same shapes,
    the elementwise floor (one tanh over the hidden block per epoch) and bpnet over the floor."""
    rng = np.random.default_rng(0)
    gemm, flops_epoch = {}, useful_flops(K, n, d, H, C)
    for name, a, b in gemm_shapes(K, n, d, H, C):
        A, B = rng.normal(size=a).astype(dtype), rng.normal(size=b).astype(dtype)
        out = np.matmul(A, B)
        gemm[name] = _best_time(lambda A=A, B=B, out=out: np.matmul(A, B, out=out))
    hidden = rng.normal(size=(K, H, n)).astype(dtype)
    tanh_s = _best_time(lambda: np.tanh(hidden, out=hidden))
    big = rng.normal(size=(1024, 1024)).astype(dtype)
    big_s = _best_time(lambda: big @ big, repeats=5, inner=3)
    gemm_s = sum(gemm.values())
    floor = epochs * (gemm_s + tanh_s)
    total = flops_epoch * epochs
    return {
        "shapes": {"folds": K, "rows": n, "inputs": d, "hidden": H, "classes": C,
                   "epochs": epochs, "dtype": np.dtype(dtype).name},
        "flops": total,
        "flops_note": "the five matrix products of the fused pass per epoch, biases included "
                      "(2 x multiply-adds), over every row of every fold; the floor times "
                      "them as the fused pass calls them (padded rows, bias gemvs)",
        "bpnet_gflops": round(total / bpnet_seconds / 1e9, 2),
        "gemm_gflops_same_shapes": round(flops_epoch / gemm_s / 1e9, 2),
        "gemm_ms_per_epoch": {k: round(v * 1e3, 4) for k, v in gemm.items()},
        "sgemm_gflops_1024": round(2 * 1024**3 / big_s / 1e9, 1),
        "tanh_ms_per_epoch": round(tanh_s * 1e3, 4),
        "floor_seconds": round(floor, 3),
        "bpnet_seconds": round(bpnet_seconds, 3),
        "bpnet_over_floor": round(bpnet_seconds / floor, 2),
    }


#: The parts of an epoch: (file, function) -> label. Each is measured by its cumulative time
#: (its NumPy calls included); none of them calls another.
_PARTS = {("fused.py", "forward"): "forward: pack the weights, 2 products, tanh, output units",
          ("fused.py", "backward"): "backward: 3 products, 2 bias gemv, elementwise",
          ("optim.py", "step"): "Adam (one flat array, in place)",
          ("fused.py", "per_sample_loss"): "curves: loss per sample",
          ("fused.py", "correct"): "curves: accuracy per sample",
          ("training.py", "record"): "curves: per-fold sums (train and test)"}


def profile(X, y, splits, hidden: int, lr: float, epochs: int, seed: int = 0) -> list[dict]:
    """Where the time of ``bpnet.cross_validate`` (float32) goes: ms per epoch by part.

    cProfile's cumulative time of each part of :data:`_PARTS`; "training loop" is the rest
    of :func:`bpnet.training.train` (Python, finiteness checks), "set-up" everything
    outside it (per-fold normalisation, building the network, the results). The profiler
    slows every Python call, so the times are scaled to the unprofiled run's wall time.
    """
    run = (bpnet.cross_validate, X, y, splits)
    kw = dict(n_hidden=hidden, epochs=epochs, lr=lr, dtype="float32", random_state=seed)
    t0 = time.perf_counter()
    run[0](*run[1:], **kw)
    wall = time.perf_counter() - t0
    prof = cProfile.Profile()
    prof.runcall(run[0], *run[1:], **kw)
    stats = pstats.Stats(prof).stats
    parts: dict[str, float] = {}
    train_s = total = 0.0
    for (filename, _, func), (_, _, _, cumtime, _) in stats.items():
        total = max(total, cumtime)
        if "bpnet" not in filename:
            continue
        label = _PARTS.get((filename.rsplit("/", 1)[-1], func))
        if label is not None:  # the outermost step (a FlatParams wraps an Adam) has the most
            parts[label] = max(parts.get(label, 0.0), cumtime) if func == "step" else \
                parts.get(label, 0.0) + cumtime
        elif filename.endswith("training.py") and func == "train":
            train_s = cumtime
    parts["training loop: the rest (Python, checks)"] = train_s - sum(parts.values())
    parts["set-up and results (once per run)"] = total - train_s
    scale = wall / total
    return [{"bench": "kfold_profile", "part": k, "ms_per_epoch": round(v * scale * 1e3 / epochs, 4),
             "share": round(v / total, 3), "epochs": epochs}
            for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
