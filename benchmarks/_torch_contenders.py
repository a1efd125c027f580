"""The PyTorch programs bench_kfold times against bpnet: a per-fold loop, and the strongest
peer, all folds as one batched program (eager and under ``torch.compile``).

Every program trains the paper's protocol (sigmoid hidden and output units, MSE on one-hot
targets, full-batch Adam) on inputs normalised per fold with the fold's training rows,
and returns the mean test accuracy over the folds. Imported from the scripts' own folder.
"""
from __future__ import annotations

import time

import numpy as np

from bpnet.preprocessing import Normalizer
from bpnet.splits import fold_masks

#: Seconds of the first (compiling) call of each compiled program, by its shapes.
COMPILE_SECONDS: dict = {}
_COMPILED: dict = {}


def run_torch_loop(X, y, splits, cfg, dtype: str, epochs: int) -> float:
    """(c) What a user writes: ``nn.Sequential`` + ``torch.optim.Adam``, one fold at a time."""
    import torch

    tdt, C = getattr(torch, dtype), int(y.max()) + 1
    accs = []
    for k, (tr, te) in enumerate(splits):
        norm = Normalizer().fit(X[tr])
        Xtr = torch.tensor(norm.transform(X[tr]), dtype=tdt)
        Xte = torch.tensor(norm.transform(X[te]), dtype=tdt)
        T = torch.nn.functional.one_hot(torch.tensor(y[tr]), C).to(tdt)
        torch.manual_seed(cfg.seed + k)
        net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], cfg.hidden), torch.nn.Sigmoid(),
                                  torch.nn.Linear(cfg.hidden, C), torch.nn.Sigmoid()).to(tdt)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        for _ in range(epochs):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(Xtr), T).backward()
            opt.step()
        with torch.no_grad():
            accs.append(float((net(Xte).argmax(1).numpy() == y[te]).mean()))
    return float(np.mean(accs))


def _batched_problem(X, y, splits, cfg, dtype: str):
    """The (folds, rows, features) block, its row weights and the per-fold initial weights."""
    import torch

    tdt, C, (n, d) = getattr(torch, dtype), int(y.max()) + 1, X.shape
    train_m, test_m = fold_masks(splits, n)
    Xs = torch.tensor(np.stack([Normalizer().fit(X[m]).transform(X) for m in train_m]), dtype=tdt)
    # each fold's mean loss over its training rows; summed over folds, every fold's gradient
    # is its own (Adam is elementwise, so the folds stay independent)
    w = torch.tensor(train_m / train_m.sum(axis=1, keepdims=True), dtype=tdt)
    T = torch.nn.functional.one_hot(torch.tensor(y), C).to(tdt)
    W1, b1, W2, b2 = [], [], [], []
    for k in range(len(splits)):  # each fold starts as nn.Linear would start it
        torch.manual_seed(cfg.seed + k)
        lin1, lin2 = torch.nn.Linear(d, cfg.hidden), torch.nn.Linear(cfg.hidden, C)
        W1.append(lin1.weight.T), b1.append(lin1.bias[None]), W2.append(lin2.weight.T)
        b2.append(lin2.bias[None])
    params = [torch.stack(p).to(tdt).detach().requires_grad_() for p in (W1, b1, W2, b2)]
    return Xs, w, T, params, test_m


def _loss(Xs, w, T, W1, b1, W2, b2):
    """Sum over folds of each fold's MSE on its training rows (``w``: (K, n), rows sum to 1)."""
    import torch

    out = torch.sigmoid(torch.baddbmm(b2, torch.sigmoid(torch.baddbmm(b1, Xs, W1)), W2))
    return ((out - T).square().mean(dim=2) * w).sum()


def _accuracy(Xs, y, test_m, params) -> float:
    import torch

    with torch.no_grad():
        W1, b1, W2, b2 = params
        pred = torch.baddbmm(b2, torch.sigmoid(torch.baddbmm(b1, Xs, W1)), W2).argmax(2).numpy()
    return float(np.mean([(pred[k] == y)[m].mean() for k, m in enumerate(test_m)]))


def run_torch_batched(X, y, splits, cfg, dtype: str, epochs: int) -> float:
    """(e) The strongest peer: all folds as one program, ``torch.baddbmm`` over a (folds,
    rows, features) block, training rows selected by weights, one ``torch.optim.Adam``."""
    import torch

    Xs, w, T, params, test_m = _batched_problem(X, y, splits, cfg, dtype)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for _ in range(epochs):
        opt.zero_grad()
        _loss(Xs, w, T, *params).backward()
        opt.step()
    return _accuracy(Xs, y, test_m, params)


def run_torch_compiled(X, y, splits, cfg, dtype: str, epochs: int) -> float:
    """(f) The same step with its forward, loss and backward under ``torch.compile``
    (inductor; Adam stays ``torch.optim.Adam``'s eager step). The first call for a shape
    compiles; its time goes to :data:`COMPILE_SECONDS`, not into the timed runs."""
    import torch

    Xs, w, T, params, test_m = _batched_problem(X, y, splits, cfg, dtype)
    key = (tuple(Xs.shape), dtype, cfg.hidden)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(_loss, dynamic=False)
        t0 = time.perf_counter()
        probe = [p.detach().clone().requires_grad_() for p in params]
        _COMPILED[key](Xs, w, T, *probe).backward()  # compiles forward and backward
        COMPILE_SECONDS[key] = time.perf_counter() - t0
    step = _COMPILED[key]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for _ in range(epochs):
        opt.zero_grad()
        step(Xs, w, T, *params).backward()
        opt.step()
    return _accuracy(Xs, y, test_m, params)
