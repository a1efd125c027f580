"""Claim: one full-batch bpnet training step is about as fast as the same step in PyTorch on CPU.

Measured: the time of one full-batch training step (forward, backward, Adam update) for the
paper's sizes, 675 samples x 10 features -> H hidden sigmoid units -> 7 sigmoid outputs, MSE
loss, H in {16, 32, 64}; bpnet (NumPy) and the same network in PyTorch (torch.optim.Adam),
both single-threaded, timed side by side in one run (median of repeats, after a warm-up).
One JSON line per (H, dtype) with both times in microseconds and the ratio bpnet / torch.

Run:  python benchmarks/bench_step.py [--repeats 200] [--dtypes float64 float32]

Last result (2026-11-28; 2 x86_64 cores, NumPy 2.4.6, torch 2.14.1, one thread each), median
step time in microseconds, bpnet / torch:
  float64  H=16: 219 / 453 (0.49)   H=32: 293 / 548 (0.53)   H=64: 463 / 770 (0.60)
  float32  H=16: 194 / 403 (0.48)   H=32: 242 / 480 (0.50)   H=64: 340 / 563 (0.60)
At these tiny sizes PyTorch's per-op dispatch and autograd bookkeeping cost more than the
arithmetic, so the hand-written NumPy step is about twice as fast.
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

    def bpnet_step():
        opt.step(net.loss_and_grads(X, y)[1])

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

    # interleave the two so machine noise hits both alike
    t_np, t_torch = [], []
    for _ in range(3):
        t_np.append(_median_time(bpnet_step, cfg.repeats, cfg.warmup))
        t_torch.append(_median_time(torch_step, cfg.repeats, cfg.warmup))
    t_np, t_torch = min(t_np), min(t_torch)
    return {"bench": "step", "n_samples": cfg.n_samples, "n_inputs": cfg.n_inputs,
            "n_hidden": n_hidden, "n_outputs": cfg.n_outputs, "dtype": dtype,
            "bpnet_us": round(t_np * 1e6, 1), "torch_us": round(t_torch * 1e6, 1),
            "ratio_bpnet_over_torch": round(t_np / t_torch, 3),
            "numpy": np.__version__, "torch": torch.__version__, "threads": 1}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=Config.repeats)
    parser.add_argument("--hidden", type=int, nargs="+", default=list(Config.hidden))
    parser.add_argument("--dtypes", nargs="+", default=list(Config.dtypes),
                        choices=["float64", "float32"])
    args = parser.parse_args(argv)
    cfg = Config(hidden=tuple(args.hidden), dtypes=tuple(args.dtypes), repeats=args.repeats)
    for dtype in cfg.dtypes:
        for h in cfg.hidden:
            print(json.dumps({**bench(cfg, h, dtype), "config": asdict(cfg)}), flush=True)


if __name__ == "__main__":
    main()
