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

import numpy as np


class Optimizer:
    """Base class: stores the parameter dict, hyper-parameters and per-parameter state."""

    def __init__(self, params: dict, lr: float, weight_decay: float):
        if not isinstance(params, dict):
            raise TypeError("params must be the network's parameter dict (e.g. net.params)")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
        self.params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: dict[str, dict] = {name: {"step": 0} for name in params}

    def step(self, grads: dict) -> None:
        """Update every parameter in place from ``grads`` (same keys and shapes)."""
        missing = set(self.params) - set(grads)
        if missing:
            raise ValueError(f"grads lacks {sorted(missing)}")
        for name, p in self.params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] has shape {g.shape}, params {p.shape}")
            state = self.state.setdefault(name, {"step": 0})
            state["step"] += 1
            self._update(p, g, state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def state_arrays(self, name: str) -> dict[str, np.ndarray]:
        """The state arrays of parameter ``name`` (shaped like it), e.g. for pruning."""
        return {k: v for k, v in self.state.get(name, {}).items() if isinstance(v, np.ndarray)}

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

    def __init__(self, params: dict, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if momentum < 0:
            raise ValueError(f"momentum must be non-negative, got {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum requires a momentum and zero dampening")
        self.momentum, self.dampening, self.nesterov = float(momentum), float(dampening), nesterov

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            buf = state["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


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

    def __init__(self, params: dict, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)

    def _update(self, p, g, state):
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        # torch updates m with lerp, m + (1 - b1) (g - m); same value, same rounding.
        m += (1.0 - b1) * (g - m)
        v *= b2
        v += (1.0 - b2) * g * g
        step_size = self.lr / (1.0 - b1 ** t)
        denom = np.sqrt(v) / np.sqrt(1.0 - b2 ** t) + self.eps
        p -= step_size * (m / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Before the Adam step the parameter shrinks, :math:`p \leftarrow p (1 - \eta\lambda)`,
    instead of adding :math:`\lambda p` to the gradient. Default ``weight_decay=1e-2``
    as in PyTorch.
    """

    decoupled = True

    def __init__(self, params: dict, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def make_optimizer(name: str, params: dict, **kwargs) -> Optimizer:
    """Build an optimiser by name (``"sgd"``, ``"adam"``, ``"adamw"``)."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
    return cls(params, **kwargs)
