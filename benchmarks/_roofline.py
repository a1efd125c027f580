"""How far bpnet's k-fold training is from this machine's floor, and where the rest goes.

The floor of one epoch of the stacked protocol (K folds x n rows, d -> H -> C, the fused
pass of :mod:`bpnet.fused`) is the time of its five matrix products, measured on the very
shapes bpnet uses (``np.matmul`` into preallocated buffers, one thread), plus one ``tanh``
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
    """The five products of one epoch, ``(name, (K, rows, inner), (K, inner, cols))``."""
    return [("forward hidden  P1 @ XaT", (K, H, d + 1), (K, d + 1, n)),
            ("forward output  P2 @ [A; 1]", (K, C, H + 1), (K, H + 1, n)),
            ("backward dP2  G @ [A; 1].T", (K, C, n), (K, n, H + 1)),
            ("backward dA  Q @ G", (K, H, C), (K, C, n)),
            ("backward dP1  dZ @ XaT.T", (K, H, n), (K, n, d + 1))]


def roofline(K: int, n: int, d: int, H: int, C: int, epochs: int, bpnet_seconds: float,
             dtype=np.float32) -> dict:
    """The protocol's FLOPs, bpnet's achieved rate, the measured GEMM rate on the same shapes,
    the elementwise floor (one tanh over the hidden block per epoch) and bpnet over the floor."""
    rng = np.random.default_rng(0)
    gemm, flops_epoch = {}, 0
    for name, a, b in gemm_shapes(K, n, d, H, C):
        A, B = rng.normal(size=a).astype(dtype), rng.normal(size=b).astype(dtype)
        out = np.empty((K, a[1], b[2]), dtype)
        gemm[name] = _best_time(lambda A=A, B=B, out=out: np.matmul(A, B, out=out))
        flops_epoch += 2 * K * a[1] * a[2] * b[2]
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
                      "(2 x multiply-adds), over every row of every fold",
        "bpnet_gflops": round(total / bpnet_seconds / 1e9, 2),
        "gemm_gflops_same_shapes": round(flops_epoch / gemm_s / 1e9, 2),
        "gemm_ms_per_epoch": {k: round(v * 1e3, 4) for k, v in gemm.items()},
        "sgemm_gflops_1024": round(2 * 1024**3 / big_s / 1e9, 1),
        "tanh_ms_per_epoch": round(tanh_s * 1e3, 4),
        "floor_seconds": round(floor, 3),
        "bpnet_seconds": round(bpnet_seconds, 3),
        "bpnet_over_floor": round(bpnet_seconds / floor, 2),
    }


#: cProfile rows grouped into the parts of an epoch (a function's own time, its NumPy calls
#: included, since ufuncs are not profiled apart).
_PARTS = {"forward": "forward (pack, 2 products, tanh, output units)",
          "_pack": "forward (pack, 2 products, tanh, output units)",
          "backward": "backward (3 products, elementwise, gradient copies)",
          "per_sample_loss": "loss per sample (curves)",
          "correct": "accuracy per sample (curves)",
          "record": "curves bookkeeping",
          "step": "Adam (flat, in place)", "_update": "Adam (flat, in place)"}


def profile(X, y, splits, hidden: int, lr: float, epochs: int, seed: int = 0) -> list[dict]:
    """Where an epoch of ``bpnet.cross_validate`` (float32) goes: ms per epoch by part."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(bpnet.cross_validate, X, y, splits, n_hidden=hidden, epochs=epochs, lr=lr,
                 dtype="float32", random_state=seed)
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof).stats
    parts: dict[str, float] = {}
    for (filename, _, func), (_, _, tottime, _, _) in stats.items():
        if "bpnet" in filename and func in _PARTS:
            parts[_PARTS[func]] = parts.get(_PARTS[func], 0.0) + tottime
    total_prof = sum(v[2] for v in stats.values())
    parts["everything else (Python, checks, setup)"] = total_prof - sum(parts.values())
    scale = wall / total_prof  # the profiler's own overhead, spread evenly
    return [{"bench": "kfold_profile", "part": k, "ms_per_epoch": round(v * scale * 1e3 / epochs, 4),
             "share": round(v / total_prof, 3)} for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
