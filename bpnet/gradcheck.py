r"""Gradient checking by central finite differences: the test every backward pass must pass.

For each parameter entry :math:`\theta_i` the numerical derivative is

.. math::

    \hat g_i = \frac{L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)}{2 \varepsilon},

whose error is :math:`O(\varepsilon^2)` from truncation plus about
:math:`\epsilon_\text{mach} |L| / \varepsilon` from rounding. With float64 and
:math:`\varepsilon = 10^{-6}` both are near :math:`10^{-10}`, so a correct
backward pass agrees to about :math:`10^{-8}` relative error or better, while
a wrong one is off by :math:`O(1)`.

The check is duck-typed: anything with a ``params`` dict of float arrays and a
``loss_and_grads(X, y)`` method returning ``(loss, grads)`` can be checked —
a :class:`~bpnet.BPNetwork`, a stack of them (the losses are summed), or a
network a student writes from scratch.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class GradcheckReport(dict):
    """``{parameter name: max relative error}``, printable as a table.

    The relative error of a parameter is the largest absolute difference
    between the analytic and numerical gradients, divided by the largest
    absolute entry of the numerical gradient (the infinity-norm relative error
    ``|g - g_hat|_inf / |g_hat|_inf``). Dividing by the largest entry rather
    than entry by entry keeps gradients that are zero or tiny by chance from
    reporting rounding noise as failure. For the same reason the divisor is
    never smaller than ``scale_floor`` (1e-3) times the largest numerical
    gradient entry of the whole model: a central difference carries an
    absolute rounding error of about ``1e-16 * |L| / eps``, which a parameter
    whose entire gradient is tiny (a bias feeding one saturated unit, say)
    would otherwise report as a failure. A model whose numerical gradient is
    zero everywhere reports absolute differences.
    """

    def __init__(self, errors: dict, tol: float, worst_index: dict):
        super().__init__(errors)
        self.tol = tol
        #: for each parameter, the index of the entry with the largest difference
        self.worst_index = worst_index

    @property
    def max_error(self) -> float:
        """The worst error over all parameters."""
        return max(self.values()) if self else 0.0

    def passed(self, tol: float | None = None) -> bool:
        """Whether every parameter's error is below ``tol`` (default: the check's ``tol``)."""
        return self.max_error < (self.tol if tol is None else tol)

    def __str__(self) -> str:
        rows = [f"{'param':<8} {'max rel. error':>14}  {'worst entry':<14} status"]
        for name, err in self.items():
            status = "ok" if err < self.tol else "FAIL"
            rows.append(f"{name:<8} {err:>14.3e}  {str(self.worst_index[name]):<14} {status}")
        return "\n".join(rows)


def gradcheck(model: Any, X: np.ndarray, y: np.ndarray, eps: float = 1e-6, tol: float = 1e-6,
              scale_floor: float = 1e-3,
              **loss_kwargs) -> GradcheckReport:
    """Compare ``model.loss_and_grads`` with central finite differences.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of float arrays, read on every call) and
        ``loss_and_grads(X, y, **loss_kwargs) -> (loss, grads)``; ``loss`` may be
        an array (a stack of models), in which case its sum is differentiated.
    X, y : arrays
        The data the loss is evaluated on.
    eps : float
        Finite-difference step.
    tol : float
        Threshold used by :meth:`GradcheckReport.passed` and the printed status.
    scale_floor : float
        Lower bound of each parameter's divisor, relative to the largest
        numerical gradient entry of the model (see :class:`GradcheckReport`).
    **loss_kwargs
        Passed to ``loss_and_grads`` (e.g. ``sample_weight``).

    Returns
    -------
    GradcheckReport
        A dict ``{name: max relative error}``; ``print(report)`` shows a table.

    Examples
    --------
    >>> import numpy as np, bpnet
    >>> net = bpnet.BPNetwork(3, 4, 2, seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 3)); y = np.array([0, 1, 1, 0, 1])
    >>> bpnet.gradcheck(net, X, y).passed()
    True
    """
    params = model.params
    if any(np.asarray(p).dtype != np.float64 for p in params.values()):
        warnings.warn("gradcheck is only reliable in float64; parameters are not all float64",
                      stacklevel=2)

    def total_loss() -> float:
        return float(np.sum(model.loss_and_grads(X, y, **loss_kwargs)[0]))

    _, grads = model.loss_and_grads(X, y, **loss_kwargs)
    analytic = {name: np.array(g, dtype=np.float64) for name, g in grads.items()}
    numerics = {}
    for name, p in params.items():
        if name not in analytic:
            raise ValueError(f"loss_and_grads returned no gradient for parameter {name!r}")
        if analytic[name].shape != p.shape:
            raise ValueError(f"gradient of {name!r} has shape {analytic[name].shape}, "
                             f"parameter has {p.shape}")
        numeric = np.zeros(p.shape)
        for idx in np.ndindex(p.shape):
            orig = p[idx]
            p[idx] = orig + eps
            up = total_loss()
            p[idx] = orig - eps
            down = total_loss()
            p[idx] = orig  # restore exactly: the model must be left as it was
            numeric[idx] = (up - down) / (2 * eps)
        numerics[name] = numeric
    overall = max((np.abs(n).max(initial=0.0) for n in numerics.values()), default=0.0)
    errors, worst = {}, {}
    for name, numeric in numerics.items():
        diff = np.abs(analytic[name] - numeric)
        scale = max(np.abs(numeric).max(initial=0.0), scale_floor * overall)
        errors[name] = float(diff.max(initial=0.0) / scale) if scale > 0 else \
            float(diff.max(initial=0.0))
        index = np.unravel_index(diff.argmax(), diff.shape) if diff.size else ()
        worst[name] = tuple(int(i) for i in index)
    return GradcheckReport(errors, tol, worst)
