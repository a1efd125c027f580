"""How one epoch of :func:`bpnet.training.train` steps: the step rules.

:class:`FullBatch` takes one optimiser step per epoch on every training row (the paper's
training); :class:`MiniBatch` shuffles each model's training rows every epoch and steps on
batches of them. Either may add Gaussian noise to the inputs of every step
(``input_noise``). A rule is a frozen description; :func:`bpnet.training.train` binds it to
the arrays of one call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._batches import InputNoise, MiniBatches
from .fused import FusedPass
from .network import BPNetwork
from .optim import Optimizer

__all__ = ["BoundSteps", "FullBatch", "MiniBatch", "make_steps"]


@dataclass(frozen=True)
class FullBatch:
    """One step per epoch on all training rows.

    Parameters
    ----------
    input_noise : float or (K,) array
        Standard deviation of Gaussian noise added to every input feature of the rows a
        step trains on, drawn afresh (with the ``rng`` of :func:`~bpnet.training.train`)
        for every step: a regulariser that smooths the learned function. The curves
        measure the network on the clean inputs (in full-batch training that costs one
        more forward pass per epoch). A ``(K,)`` array gives each model of a stack its own;
        0 (default) trains on the inputs as they are.
    """

    input_noise: Any = 0.0

    def bind(self, net: BPNetwork, full: FusedPass, XaT: np.ndarray, T: np.ndarray,
             sw: np.ndarray, w_train: np.ndarray) -> "BoundSteps":
        """The steps of one call: ``full`` is the pass over all rows, ``sw`` the raw and
        ``w_train`` the normalised training weights, ``(K, n)``."""
        noise = InputNoise.make(self.input_noise, len(sw), net.dtype)
        if noise is None:
            return _Clean(full, XaT, T, w_train)
        return _Noisy(full, XaT, T, w_train, noise)


@dataclass(frozen=True)
class MiniBatch:
    """Each model's training rows shuffled every epoch and cut into batches of ``batch_size``.

    A model whose rows run out before the others' skips the remaining steps of the epoch.
    When no model has more rows than ``batch_size`` this is :class:`FullBatch`.
    ``input_noise`` as for :class:`FullBatch`.
    """

    batch_size: int
    input_noise: Any = 0.0

    def bind(self, net: BPNetwork, full: FusedPass, XaT: np.ndarray, T: np.ndarray,
             sw: np.ndarray, w_train: np.ndarray) -> "BoundSteps":
        """See :meth:`FullBatch.bind`."""
        b = self.batch_size
        n_rows = int((sw > 0).sum(axis=1).max())
        if isinstance(b, bool) or int(b) != b or b < 1:
            raise ValueError(f"batch_size must be a positive integer or None, got {b!r}")
        if int(b) >= n_rows:
            return FullBatch(self.input_noise).bind(net, full, XaT, T, sw, w_train)
        noise = InputNoise.make(self.input_noise, len(sw), net.dtype)
        return _Batches(MiniBatches(net, XaT, T, sw, int(b), noise))


def make_steps(batch_size: int | None = None, input_noise=0.0) -> FullBatch | MiniBatch:
    """The rule of a ``batch_size`` setting: None is full batch."""
    return FullBatch(input_noise) if batch_size is None else MiniBatch(batch_size, input_noise)


class BoundSteps:
    """A step rule bound to the arrays of one call of :func:`~bpnet.training.train`: its
    :meth:`epoch` trains every active model for one epoch."""

    #: the forward pass that measured the network after an epoch is the next step's
    reuses_forward = False
    #: draws from the rng (shuffles, noise)
    random = True

    def epoch(self, optimizer: Optimizer, rng, active) -> None:
        """One epoch of steps of ``optimizer``; ``active`` (K,) bool or None (all models)."""
        raise NotImplementedError


class _Clean(BoundSteps):
    reuses_forward, random = True, False

    def __init__(self, full, XaT, T, w):
        self.full, self.XaT, self.T, self.w = full, XaT, T, w

    def epoch(self, optimizer, rng, active) -> None:
        # the forward of the previous epoch measured these parameters
        grads = self.full.backward(self.XaT, self.T, self.w, out=_grad_buffers(optimizer))
        optimizer.step(grads, active=active)


class _Noisy(BoundSteps):
    def __init__(self, full, XaT, T, w, noise: InputNoise):
        self.full, self.XaT, self.T, self.w, self.noise = full, XaT, T, w, noise

    def epoch(self, optimizer, rng, active) -> None:  # a step on noisy inputs
        Xn = self.noise.add(self.XaT, rng)
        self.full.forward(Xn)
        grads = self.full.backward(Xn, self.T, self.w, out=_grad_buffers(optimizer))
        optimizer.step(grads, active=active)


class _Batches(BoundSteps):
    def __init__(self, batches: MiniBatches):
        self.batches = batches

    def epoch(self, optimizer, rng, active) -> None:
        self.batches.epoch(optimizer, rng, active)


def _grad_buffers(optimizer) -> dict | None:
    """Where the optimiser wants the gradients written (a FlatParams' views), else None."""
    return getattr(optimizer, "grads", None)
