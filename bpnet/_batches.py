"""Parts of :func:`bpnet.training.train`: sample weights per model, input noise, mini-batches.

Private to the training loop; kept apart so that ``training.py`` reads as the loop itself.
"""
from __future__ import annotations

import numpy as np

from .fused import FusedPass
from .losses import class_weight_of_rows
from .network import BPNetwork
from .optim import Optimizer


def normalise_rows(w: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to one; a row of zeros becomes NaN (a model with no such rows)."""
    total = w.sum(axis=-1, keepdims=True)
    out = np.full(w.shape, np.nan, dtype=w.dtype)
    np.divide(w, total, out=out, where=total > 0)
    return out


class InputNoise:
    """Gaussian input noise with a standard deviation per model, into reused buffers."""

    def __init__(self, sigma: np.ndarray, dtype):
        self.sigma, self.dtype = sigma, dtype  # (K, 1, 1)
        self.buffers: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def make(cls, input_noise, K: int, dtype) -> "InputNoise | None":
        sigma = np.asarray(input_noise, dtype=np.float64)
        if sigma.ndim > 1 or (sigma.ndim == 1 and sigma.shape != (K,)):
            raise ValueError(f"input_noise must be a number or one per model ({K},), "
                             f"got shape {sigma.shape}")
        if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
            raise ValueError(f"input_noise must be finite and non-negative, got {input_noise}")
        if not np.any(sigma > 0):
            return None
        return cls(np.broadcast_to(sigma, (K,)).astype(dtype)[:, None, None], dtype)

    def add(self, XaT: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``XaT`` (1 or K, d + 1, n) plus noise on its d feature rows (not the row of ones)."""
        K, d, n = len(self.sigma), XaT.shape[1] - 1, XaT.shape[2]
        if (d, n) not in self.buffers:
            out = np.empty((K, d + 1, n), self.dtype)
            out[:, d, :] = 1.0
            self.buffers[d, n] = (out, np.empty((K, d, n), self.dtype))
        out, z = self.buffers[d, n]
        rng.standard_normal(out=z, dtype=self.dtype)
        z *= self.sigma
        np.add(XaT[:, :d, :], z, out=out[:, :d, :])
        return out


class MiniBatches:
    """One epoch of mini-batches: each model's training rows, shuffled and cut to size."""

    def __init__(self, net: BPNetwork, XaT: np.ndarray, T: np.ndarray, sw: np.ndarray, size: int,
                 noise: InputNoise | None = None):
        self.net, self.XaT, self.T, self.sw, self.noise = net, XaT, T, sw, noise
        self.rows = [np.flatnonzero(w > 0) for w in sw]
        self.size = size
        self.n_max = max(len(r) for r in self.rows)
        self.passes: dict[int, FusedPass] = {}

    def _gather(self, A: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Columns ``idx`` (K, b) of A (1 or K, m, n) -> (K, m, b)."""
        if A.shape[0] == 1:
            return np.ascontiguousarray(A[0][:, idx].transpose(1, 0, 2))
        return np.take_along_axis(A, idx[:, None, :], axis=2)

    def epoch(self, optimizer: Optimizer, rng: np.random.Generator, active) -> None:
        net, K, b = self.net, len(self.rows), self.size
        order = np.zeros((K, self.n_max), dtype=np.intp)
        valid = np.zeros((K, self.n_max), dtype=bool)
        for k, rows in enumerate(self.rows):
            order[k, :len(rows)] = rng.permutation(rows)
            valid[k, :len(rows)] = True
        for start in range(0, self.n_max, b):
            idx, ok = order[:, start:start + b], valid[:, start:start + b]
            m = idx.shape[1]
            fused = self.passes.get(m)
            if fused is None:
                fused = self.passes[m] = FusedPass(net, m)
            Xb, Tb = self._gather(self.XaT, idx), self._gather(self.T, idx)
            if self.noise is not None:
                Xb = self.noise.add(Xb, rng)
            wb = np.take_along_axis(self.sw, idx, axis=1) * ok
            if net.loss_fn.class_weighted_mean and net.class_weight is not None:
                wb = wb * class_weight_of_rows(net.class_weight, Tb.argmax(axis=1))
            has_rows = wb.sum(axis=1) > 0
            step_active = has_rows if active is None else (has_rows & active)
            fused.forward(Xb)
            grads = fused.backward(Xb, Tb, np.nan_to_num(normalise_rows(wb)))
            if net.n_models is None:
                optimizer.step(grads)
            else:
                optimizer.step(grads, active=None if step_active.all() else step_active)
