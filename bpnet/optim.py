r"""Optimisers that follow ``torch.optim``'s update rules exactly.

Each optimiser holds the *dict* of parameters (``net.params``) and looks the
arrays up by name at every step, updating them in place. Per-parameter state
(momentum buffers, Adam moments) is kept in ``opt.state[name]`` as arrays of
the parameter's shape, so a pruner can cut a hidden unit out of the state
together with the weights (see :meth:`Optimizer.state_arrays`).

The tests run 200 steps of each rule beside ``torch.optim`` in float64 and
compare the whole parameter trajectory to 1e-9.
"""
from __future__ import annotations

import math

import numpy as np

Hyper = "float | np.ndarray"


class TrainingError(ValueError):
    """Training diverged: a non-finite loss or gradient; the message says where and when."""


def _per_model(value, p: np.ndarray):
    """A hyper-parameter as it multiplies ``p``: a float, or a ``(K,)`` array shaped to broadcast."""
    if np.ndim(value) == 0:
        return value
    return np.reshape(value, (-1,) + (1,) * (p.ndim - 1))


def _as(value, p: np.ndarray):
    """A factor computed in float64, in ``p``'s dtype before it meets ``p``'s elements: a
    float64 array would turn a float32 update into float64 arithmetic and a cast back (a
    plain float does not), the per-model path would be several times slower."""
    return value if np.ndim(value) == 0 else value.astype(p.dtype, copy=False)


def _diverged(name: str, g: np.ndarray, step) -> TrainingError:
    """The error for a non-finite gradient of parameter ``name`` before step ``step + 1``."""
    where = tuple(int(i) for i in np.argwhere(~np.isfinite(g))[0])
    return TrainingError(
        f"the gradient of {name} is {g[where]} at index {where} in step {np.max(step) + 1}: "
        "training diverged; lower the learning rate or normalise the inputs")


class Optimizer:
    """Base class: stores the parameter dict, hyper-parameters and per-parameter state.

    Parameters
    ----------
    params : dict of arrays
        ``net.params``; updated in place.
    lr, weight_decay : float or (K,) array
        A ``(K,)`` array gives every model of a stack its own value (model selection trains
        a grid of settings as one stack).
    """

    def __init__(self, params: dict, lr: Hyper, weight_decay: Hyper):
        if not isinstance(params, dict):
            raise TypeError("params must be the network's parameter dict (e.g. net.params)")
        lr = np.asarray(lr, dtype=np.float64)
        weight_decay = np.asarray(weight_decay, dtype=np.float64)
        if lr.ndim > 1 or not np.all(lr > 0):
            raise ValueError(f"lr must be a positive number (or one per model), got {lr}")
        if weight_decay.ndim > 1 or np.any(weight_decay < 0):
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
        self.params = params
        self.lr = float(lr) if lr.ndim == 0 else lr
        self.weight_decay = float(weight_decay) if weight_decay.ndim == 0 else weight_decay
        self.state: dict[str, dict] = {name: {"step": 0} for name in params}
        self._scratch: dict[str, np.ndarray] = {}

    @property
    def _decay(self) -> bool:
        wd = self.weight_decay  # (np.any on a plain float costs more than a whole small update)
        return wd != 0.0 if isinstance(wd, float) else bool(np.any(wd))

    def step(self, grads: dict, active: np.ndarray | None = None) -> None:
        """Update every parameter in place from ``grads`` (same keys and shapes).

        Parameters
        ----------
        grads : dict of arrays
        active : (K,) bool array, optional
            For a stack: the models to update. The others keep their parameters and
            optimiser state, and their step count does not advance (a finished fold, or a
            model with no samples in this mini-batch).
        """
        missing = set(self.params) - set(grads)
        if missing:
            raise ValueError(f"grads lacks {sorted(missing)}")
        idle = None if active is None else ~np.asarray(active, dtype=bool)
        if idle is not None and not idle.any():
            idle = None
        for name, p in self.params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] has shape {g.shape}, params {p.shape}")
            if not np.all(np.isfinite(g)):  # an update would turn the parameters into NaN
                raise _diverged(name, g, self.state.get(name, {}).get("step", 0))
            state = self.state.setdefault(name, {"step": 0})
            if idle is None:
                state["step"] += 1
                self._update(name, p, g, state)
                continue
            kept = {key: arr[idle].copy() for key, arr in self.state_arrays(name).items()}
            kept_p = p[idle].copy()
            state["step"] = state["step"] + ~idle  # per-model step counts from now on
            self._update(name, p, g, state)
            p[idle] = kept_p
            for key, arr in self.state_arrays(name).items():
                # state created by this very step starts from zero for the idle models
                arr[idle] = kept[key] if key in kept else 0

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def _buffer(self, name: str, p: np.ndarray) -> np.ndarray:
        """A scratch array shaped like ``p``, reused across steps (no allocation per step)."""
        buf = self._scratch.get(name)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = self._scratch[name] = np.empty_like(p)
        return buf

    def state_arrays(self, name: str) -> dict[str, np.ndarray]:
        """The state arrays of parameter ``name`` (shaped like it), e.g. for pruning."""
        return {k: v for k, v in self.state.get(name, {}).items()
                if isinstance(v, np.ndarray) and k != "step"}

    def state_dict(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay,
                "state": {n: dict(s) for n, s in self.state.items()}}


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    .. math::

        g &\leftarrow g + \lambda p \\
        b &\leftarrow g \ \text{(first step)}, \quad
            b \leftarrow \mu b + (1 - \tau) g \ \text{(later steps)} \\
        g &\leftarrow g + \mu b \ \text{(nesterov)}, \quad g \leftarrow b \ \text{(otherwise)} \\
        p &\leftarrow p - \eta g

    with learning rate :math:`\eta`, momentum :math:`\mu`, dampening :math:`\tau`
    and weight decay :math:`\lambda`.
    """

    def __init__(self, params: dict, lr: Hyper = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: Hyper = 0.0):
        super().__init__(params, lr, weight_decay)
        if momentum < 0:
            raise ValueError(f"momentum must be non-negative, got {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum requires a momentum and zero dampening")
        self.momentum, self.dampening, self.nesterov = float(momentum), float(dampening), nesterov

    def _update(self, name, p, g, state):
        if self._decay:
            g = g + _as(_per_model(self.weight_decay, p), p) * p
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            buf = state["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        p -= _as(_per_model(self.lr, p), p) * g


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) exactly as ``torch.optim.Adam``.

    .. math::

        g &\leftarrow g + \lambda p \quad \text{(L2 penalty; AdamW decays instead)} \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \hat m &= m / (1 - \beta_1^t), \qquad \hat v = v / (1 - \beta_2^t) \\
        p &\leftarrow p - \eta \, \hat m / (\sqrt{\hat v} + \epsilon)

    Note that :math:`\epsilon` is added to :math:`\sqrt{\hat v}` (the bias-corrected
    root), as PyTorch does. scikit-learn's ``adam`` solver is a different variant
    (it folds the bias corrections into the learning rate and adds
    :math:`\epsilon` to :math:`\sqrt{v}`), so its trajectory differs slightly.
    """

    decoupled = False

    def __init__(self, params: dict, lr: Hyper = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: Hyper = 0.0):
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)

    def _update(self, name, p, g, state):
        b1, b2 = self.betas
        lr = _per_model(self.lr, p)
        if self._decay:
            wd = _per_model(self.weight_decay, p)
            if self.decoupled:
                p *= _as(1.0 - lr * wd, p)
            else:
                g = g + _as(wd, p) * p
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        # (a model that has not stepped yet has t = 0; its result is discarded by step())
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        if np.ndim(t):
            t = _per_model(np.maximum(t, 1), p)
        s = self._buffer(name, p)  # in-place steps: the same roundings as the formulas above
        # m <- m + (1 - b1) (g - m): torch's lerp, the same value as b1 m + (1 - b1) g
        np.subtract(g, m, out=s)
        s *= 1.0 - b1
        m += s
        # v <- b2 v + (1 - b2) g^2
        v *= b2
        np.multiply(g, 1.0 - b2, out=s)
        s *= g
        v += s
        # p <- p - lr m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t) and
        # v_hat = v / (1 - b2^t) folded as torch does: the step size lr / (1 - b1^t) scales m,
        # and sqrt(v) / sqrt(1 - b2^t) is sqrt(v_hat)
        np.sqrt(v, out=s)
        s /= _as(np.sqrt(1.0 - b2 ** t), p) if np.ndim(t) else math.sqrt(1.0 - b2 ** t)
        s += self.eps
        np.divide(m, s, out=s)
        s *= _as(lr / (1.0 - b1 ** t), p)
        p -= s


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Before the Adam step the parameter shrinks, :math:`p \leftarrow p (1 - \eta\lambda)`,
    instead of adding :math:`\lambda p` to the gradient. Default ``weight_decay=1e-2``
    as in PyTorch.
    """

    decoupled = True

    def __init__(self, params: dict, lr: Hyper = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: Hyper = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


class FlatParams:
    """An optimiser that steps all parameters of a network (or a stack) as one array.

    The parameters move into one ``(K, P)`` array (``K`` models, ``P`` values each; ``K = 1``
    for one network) and every ``params[name]`` becomes a view of it, updated in place as
    before. The optimiser is built on that array and :meth:`step` copies the gradients into
    an array of the same layout. Every rule here is elementwise with per-model
    hyper-parameters, so the parameters follow exactly (bit for bit) the trajectory of
    ``make_optimizer(name, params, **kwargs)``, in a quarter of the NumPy calls: the step of
    a stack of small networks is mostly NumPy's cost per call.

    Parameters
    ----------
    name : str
        ``"sgd"``, ``"adam"`` or ``"adamw"``.
    params : dict of arrays
        ``net.params``; its arrays are replaced by views of the one array.
    stacked : bool
        The arrays have a leading model axis (``net.n_models`` is not None).
    **kwargs
        The optimiser's arguments (``lr``, ``weight_decay``... per model or not).
    """

    def __init__(self, name: str, params: dict, stacked: bool, **kwargs):
        first = next(iter(params.values()))
        K = first.shape[0] if stacked else 1
        sizes = [p.size // K for p in params.values()]
        flat = np.empty((K, sum(sizes)), first.dtype)
        self.shapes, self.slices, start = {}, {}, 0
        for (key, p), size in zip(list(params.items()), sizes):
            self.shapes[key], self.slices[key] = p.shape, slice(start, start + size)
            flat[:, start:start + size] = p.reshape(K, size)
            params[key] = self._view(flat, key)
            start += size
        self.params, self.grad = params, np.empty_like(flat)
        #: the gradient array as views in the layout of ``params``: a caller that writes the
        #: gradients there (:meth:`bpnet.fused.FusedPass.backward`'s ``out``) saves a copy
        self.grads = {key: self._view(self.grad, key) for key in params}
        self.optimizer = make_optimizer(name, {"params": flat}, **kwargs)

    def _view(self, flat: np.ndarray, key: str) -> np.ndarray:
        """Parameter ``key`` as a view of ``flat`` (splitting an axis never copies)."""
        return flat[:, self.slices[key]].reshape(self.shapes[key])

    def state_arrays(self, name: str) -> dict[str, np.ndarray]:
        """The state of parameter ``name`` in its shape: views of the one array, so a pruner
        that zeroes a unit's state (a stack's :meth:`Optimizer.state_arrays`) reaches it."""
        return {key: self._view(arr, name)
                for key, arr in self.optimizer.state_arrays("params").items()}

    def step(self, grads: dict, active: np.ndarray | None = None) -> None:
        """:meth:`Optimizer.step` with ``grads`` in the layout of ``params`` (no copy when
        ``grads`` is :attr:`grads` itself)."""
        if grads is not self.grads:
            for key in self.params:
                self.grads[key][...] = grads[key]
        try:
            self.optimizer.step({"params": self.grad}, active=active)
        except TrainingError:
            step = self.optimizer.state["params"]["step"]
            for key in self.params:  # name the parameter, as an optimiser on params would
                if not np.all(np.isfinite(grads[key])):
                    raise _diverged(key, grads[key], step) from None
            raise


def make_optimizer(name: str, params: dict, **kwargs) -> Optimizer:
    """Build an optimiser by name (``"sgd"``, ``"adam"``, ``"adamw"``)."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
    return cls(params, **kwargs)
