"""Claim: the training step that ``bpnet.train`` runs (the fused pass of :mod:`bpnet.fused`
and Adam) is faster than the same full-batch step in PyTorch on CPU at the paper's sizes.

Measured: the time of one full-batch training step (forward, backward, Adam update) for the
paper's sizes, 675 samples x 10 features -> H hidden sigmoid units -> 7 sigmoid outputs, MSE
loss, H in {16, 32, 64}, single-threaded, timed side by side in one run (median of
repeats, after a warm-up; the best of three interleaved rounds):

* ``bpnet_fused_us``: the path training runs, ``FusedPass.forward`` then
  ``Adam.step(FusedPass.backward(...))`` on prepared (samples-last) arrays;
* ``bpnet_train_us``: ``bpnet.train`` with no callbacks (no curves) over 50 epochs, per epoch (the
  same step inside the training loop, its checks and set-up spread over the epochs);
* ``bpnet_readable_us``: ``Adam.step(net.loss_and_grads(X, y)[1])``, the readable reference
  backprop of :mod:`bpnet.network` (what the gradient checks test), for comparison;
* ``torch_us``: the same network in PyTorch (autograd, ``torch.optim.Adam``).

One JSON line per (H, dtype) with the times in microseconds, the ratios to PyTorch, and a
``claim`` that states what this run measured.

Run:  python benchmarks/bench_step.py [--repeats 200] [--dtypes float64 float32] [--quick]

Last result: see docs/speed.rst ("One training step"); the figures there say whether the
machine was idle (load average) when they were taken.
"""
from __future__ import annotations

import os

# single-threaded BLAS for NumPy: must be set before numpy is imported
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

import numpy as np  # noqa: E402

import bpnet  # noqa: E402
from bpnet.fused import FusedPass  # noqa: E402


@dataclass(frozen=True)
class Config:
    n_samples: int = 675
    n_inputs: int = 10
    n_outputs: int = 7
    hidden: tuple = (16, 32, 64)
    dtypes: tuple = ("float64", "float32")
    repeats: int = 200
    warmup: int = 20


def _median_time(fn, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench(cfg: Config, n_hidden: int, dtype: str) -> dict:
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(cfg.n_samples, cfg.n_inputs)).astype(dtype)
    y = rng.integers(0, cfg.n_outputs, size=cfg.n_samples)

    net = bpnet.BPNetwork(cfg.n_inputs, n_hidden, cfg.n_outputs, dtype=np.dtype(dtype), seed=0)
    opt = bpnet.Adam(net.params, lr=1e-3)

    def readable_step():
        opt.step(net.loss_and_grads(X, y)[1])

    fnet = net.copy()
    fopt = bpnet.Adam(fnet.params, lr=1e-3)
    fused = FusedPass(fnet, cfg.n_samples)
    XaT, T = fused.inputs(X), fused.targets(y)
    w = np.full((1, cfg.n_samples), 1.0 / cfg.n_samples, dtype)  # the mean over samples

    def fused_step():  # what bpnet.train runs per full-batch epoch without curves
        fused.forward(XaT)
        fopt.step(fused.backward(XaT, T, w))

    tnet = net.copy()
    topt_np = bpnet.Adam(tnet.params, lr=1e-3)
    train_epochs = 50

    def train_epochs_step():
        bpnet.train(tnet, (X, y), topt_np, train_epochs)  # no callbacks: no curves measured

    tdt = getattr(torch, dtype)
    W1, b1, W2, b2 = (torch.tensor(net.params[k], dtype=tdt, requires_grad=True)
                      for k in ("W1", "b1", "W2", "b2"))
    Xt = torch.tensor(X, dtype=tdt)
    Tt = torch.nn.functional.one_hot(torch.tensor(y), cfg.n_outputs).to(tdt)
    topt = torch.optim.Adam([W1, b1, W2, b2], lr=1e-3)

    def torch_step():
        topt.zero_grad(set_to_none=True)
        out = torch.sigmoid(torch.sigmoid(Xt @ W1 + b1) @ W2 + b2)
        torch.nn.functional.mse_loss(out, Tt).backward()
        topt.step()

    # interleaved, so machine noise hits every path alike
    steps = {"fused": (fused_step, cfg.repeats), "readable": (readable_step, cfg.repeats),
             "train": (train_epochs_step, max(5, cfg.repeats // 10)),
             "torch": (torch_step, cfg.repeats)}
    best = {k: [] for k in steps}
    for _ in range(3):
        for k, (fn, repeats) in steps.items():
            best[k].append(_median_time(fn, repeats, max(1, cfg.warmup // (50 if k == "train" else 1))))
    t = {k: min(v) for k, v in best.items()}
    t["train"] /= train_epochs
    ratio = {k: round(t[k] / t["torch"], 3) for k in ("fused", "train", "readable")}
    verdict = "faster than" if ratio["fused"] < 1 else "slower than"
    return {"bench": "step", "n_samples": cfg.n_samples, "n_inputs": cfg.n_inputs,
            "n_hidden": n_hidden, "n_outputs": cfg.n_outputs, "dtype": dtype,
            "bpnet_fused_us": round(t["fused"] * 1e6, 1),
            "bpnet_train_us": round(t["train"] * 1e6, 1),
            "bpnet_readable_us": round(t["readable"] * 1e6, 1),
            "torch_us": round(t["torch"] * 1e6, 1),
            "ratio_fused_over_torch": ratio["fused"], "ratio_train_over_torch": ratio["train"],
            "ratio_readable_over_torch": ratio["readable"],
            "claim": (f"H={n_hidden} {dtype}: the step bpnet.train runs (fused pass + Adam) "
                      f"took {ratio['fused']:.2f}x PyTorch's time ({verdict} PyTorch); "
                      f"inside bpnet.train {ratio['train']:.2f}x; the readable reference step "
                      f"{ratio['readable']:.2f}x"),
            "numpy": np.__version__, "torch": torch.__version__, "threads": 1}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=Config.repeats)
    parser.add_argument("--hidden", type=int, nargs="+", default=list(Config.hidden))
    parser.add_argument("--dtypes", nargs="+", default=list(Config.dtypes),
                        choices=["float64", "float32"])
    parser.add_argument("--quick", action="store_true",
                        help="H=32, float32, 20 repeats (checks that it runs)")
    args = parser.parse_args(argv)
    cfg = Config(hidden=tuple(args.hidden), dtypes=tuple(args.dtypes), repeats=args.repeats)
    if args.quick:
        cfg = Config(hidden=(32,), dtypes=("float32",), repeats=20, warmup=5)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    for dtype in cfg.dtypes:
        for h in cfg.hidden:
            print(json.dumps({**bench(cfg, h, dtype), "load_average_at_start": load,
                              "config": asdict(cfg)}), flush=True)


if __name__ == "__main__":
    main()
