r"""Gradient checking by central finite differences: the test every backward pass must pass.

For each entry :math:`\theta_i` of a parameter or input the numerical derivative is

.. math::

    \hat g_i = \frac{L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)}{2 \varepsilon},

whose error is :math:`O(\varepsilon^2)` from truncation plus about
:math:`\epsilon_\text{mach} |L| / \varepsilon` from rounding. With float64 and
:math:`\varepsilon = 10^{-6}` both are near :math:`10^{-10}`, so a correct
backward pass agrees to about :math:`10^{-8}` relative error or better, while
a wrong one is off by :math:`O(1)`.

Three checkers share that arithmetic and one report, :class:`GradcheckReport`:

* :func:`gradcheck` checks a whole **model**: anything with a ``params`` dict of
  float arrays and a ``loss_and_grads(X, y)`` method returning ``(loss, grads)``
  (a :class:`~bpnet.BPNetwork`, a stack of them, or a network a student writes
  from scratch).
* :func:`gradcheck_function` checks a **function** ``f(*inputs) -> out`` against its
  hand-written backward ``df(upstream, *inputs) -> grads``, for inputs of any shape
  (like ``torch.autograd.gradcheck``).
* :func:`gradcheck_layer` checks a **layer** object with ``params``,
  ``forward(*inputs)``, ``backward(upstream)`` and the parameter gradients in
  ``grads``.

A function or layer has no loss, so the check makes one: a fixed random
*upstream gradient* :math:`G` (seeded) turns the output into the scalar
:math:`L = \sum G \odot f(x)`, whose gradient is exactly what ``df(G, x)`` must
return. The upstream gradient is random rather than all ones because ones hide
bugs: the outputs of a softmax always sum to one, so with ``G = 1`` the true input
gradient is zero and a backward pass that returns zeros would pass.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ._gradcheck_inputs import (
    analytic_gradients,
    as_grad_list,
    check_untouched,
    checked_inputs,
    input_names,
    upstream_gradient,
    weighted_sum,
    working_copies,
)

__all__ = ["GradcheckReport", "gradcheck", "gradcheck_function", "gradcheck_layer"]


class GradcheckReport(dict):
    """``{name: max relative error}`` for every checked parameter or input, printable as a table.

    The relative error of a parameter is the largest absolute difference
    between the analytic and numerical gradients, divided by the largest
    absolute entry of the numerical gradient (the infinity-norm relative error
    ``|g - g_hat|_inf / |g_hat|_inf``). Dividing by the largest entry rather
    than entry by entry keeps gradients that are zero or tiny by chance from
    reporting rounding noise as failure. For the same reason the divisor is
    never smaller than ``scale_floor`` (1e-3) times the largest numerical
    gradient entry of the whole check: a central difference carries an
    absolute rounding error of about ``1e-16 * |L| / eps``, which a parameter
    whose entire gradient is tiny (a bias feeding one saturated unit, say)
    would otherwise report as a failure. A check whose numerical gradient is
    zero everywhere reports absolute differences.

    Attributes
    ----------
    tol : float
        Threshold of :meth:`passed` and of the printed status.
    worst_index : dict of str to tuple of int
        For each name, the index of the entry with the largest difference.
    analytic, numerical : dict of str to ndarray
        The gradients compared (empty when the report was built without them).
    """

    def __init__(self, errors: dict, tol: float, worst_index: dict,
                 analytic: dict | None = None, numerical: dict | None = None):
        super().__init__(errors)
        self.tol = tol
        self.worst_index = worst_index
        self.analytic = {} if analytic is None else analytic
        self.numerical = {} if numerical is None else numerical

    @property
    def max_error(self) -> float:
        """The worst error over all parameters."""
        return max(self.values()) if self else 0.0

    def passed(self, tol: float | None = None) -> bool:
        """Whether every parameter's error is below ``tol`` (default: the check's ``tol``)."""
        return self.max_error < (self.tol if tol is None else tol)

    def __str__(self) -> str:
        width = max([8] + [len(str(name)) for name in self])
        values = bool(self.analytic) and bool(self.numerical)
        head = f"{'name':<{width}} {'max rel. error':>14}  {'worst entry':<14}"
        rows = [head + (f" {'analytic':>11} {'numerical':>11}" if values else "") + " status"]
        for name, err in self.items():
            idx = self.worst_index[name]
            row = f"{name:<{width}} {err:>14.3e}  {str(idx):<14}"
            if values:
                row += f" {self.analytic[name][idx]:>11.4g} {self.numerical[name][idx]:>11.4g}"
            rows.append(row + (" ok" if err < self.tol else " FAIL"))
        return "\n".join(rows)


def _central_differences(objective: Callable[[], float], array: np.ndarray,
                         eps: float) -> np.ndarray:
    """d objective / d array, entry by entry; ``array`` is perturbed in place and restored."""
    numeric = np.zeros(array.shape)
    for idx in np.ndindex(array.shape):
        orig = array[idx]
        try:
            array[idx] = orig + eps
            up = objective()
            array[idx] = orig - eps
            down = objective()
        finally:
            array[idx] = orig  # restore exactly: the caller's array must be left as it was
        numeric[idx] = (up - down) / (2 * eps)
    return numeric


def _compare(analytic: dict, numerical: dict, tol: float, scale_floor: float) -> GradcheckReport:
    """The report: per name, the infinity-norm relative error (see :class:`GradcheckReport`)."""
    overall = max((np.abs(n).max(initial=0.0) for n in numerical.values()), default=0.0)
    errors, worst = {}, {}
    for name, numeric in numerical.items():
        diff = np.abs(analytic[name] - numeric)
        scale = max(np.abs(numeric).max(initial=0.0), scale_floor * overall)
        errors[name] = float(diff.max(initial=0.0) / scale) if scale > 0 else \
            float(diff.max(initial=0.0))
        index = np.unravel_index(diff.argmax(), diff.shape) if diff.size else ()
        worst[name] = tuple(int(i) for i in index)
    return GradcheckReport(errors, tol, worst, analytic, numerical)


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
        numerics[name] = _central_differences(total_loss, p, eps)
    return _compare({name: analytic[name] for name in numerics}, numerics, tol, scale_floor)


# --- functions and layers ------------------------------------------------------------------
def gradcheck_function(f: Callable[..., Any], df: Callable[..., Any], *inputs: Any,
                       wrt: Sequence[int] | None = None, names: Sequence[str] | None = None,
                       eps: float = 1e-6, tol: float = 1e-6, scale_floor: float = 1e-3,
                       seed: int | np.random.Generator = 0) -> GradcheckReport:
    """Compare a hand-written backward ``df`` with central differences of ``f``.

    A fixed random upstream gradient ``G`` (shape of ``f``'s output, standard
    normal, from ``seed``) turns the output into the scalar ``L = sum(G * f(*inputs))``;
    ``df(G, *inputs)`` must return ``dL/dx`` for every input ``x``.

    Parameters
    ----------
    f : callable
        ``f(*inputs) -> out``, a float array of any shape (or a float).
    df : callable
        ``df(upstream, *inputs) -> grads``: one gradient per input, each with that
        input's shape (``None`` for an input that is not checked); a bare array
        when there is only one input.
    *inputs : arrays or other values
        What ``f`` is called with. Float arrays must be float64. Integer arrays
        (labels, indices) and non-array values are passed through but not checked.
    wrt : sequence of int, optional
        Positions of the inputs to check; default: every float array.
    names : sequence of str, optional
        Names of the inputs in the report; default: ``f``'s parameter names.
    eps : float
        Finite-difference step.
    tol : float
        Threshold of :meth:`GradcheckReport.passed` and the printed status.
    scale_floor : float
        Lower bound of each input's divisor, relative to the largest numerical
        gradient entry of the check (see :class:`GradcheckReport`).
    seed : int or np.random.Generator
        Seed of the upstream gradient.

    Returns
    -------
    GradcheckReport
        ``{input name: max relative error}``, with ``worst_index`` and the
        ``analytic`` and ``numerical`` gradients.

    Raises
    ------
    ValueError
        A checked input is not float64, ``df`` returns the wrong number or shapes of
        gradients, or ``f`` or ``df`` changes an input in place.

    Notes
    -----
    The inputs are never modified: the check perturbs private copies.

    Examples
    --------
    >>> import numpy as np
    >>> from bpnet.gradcheck import gradcheck_function
    >>> def tanh_backward(upstream, z):
    ...     return upstream * (1 - np.tanh(z) ** 2)
    >>> z = np.random.default_rng(0).normal(size=(3, 4))
    >>> gradcheck_function(np.tanh, tanh_backward, z).passed()
    True
    """
    pristine = working_copies(inputs)
    xs = working_copies(inputs)
    names = input_names(f, len(xs), names)
    wrt = checked_inputs(xs, wrt, names, "f")
    G = upstream_gradient(f(*xs), seed, "f")
    check_untouched(xs, pristine, names, "f")
    grads = as_grad_list(df(G, *xs), len(xs), "df")
    check_untouched(xs, pristine, names, "df")
    analytic = analytic_gradients(grads, xs, wrt, names, "df")

    def objective() -> float:
        return weighted_sum(G, f(*xs), "f")

    numerical = {names[i]: _central_differences(objective, xs[i], eps) for i in wrt}
    return _compare(analytic, numerical, tol, scale_floor)


def gradcheck_layer(layer: Any, *inputs: Any, wrt: Sequence[int] | None = None,
                    names: Sequence[str] | None = None, eps: float = 1e-6, tol: float = 1e-6,
                    scale_floor: float = 1e-3,
                    seed: int | np.random.Generator = 0) -> GradcheckReport:
    """Check a layer's backward pass, for its parameters and its inputs.

    The layer is a forward/backward pair with parameters, the shape most NumPy
    courses give a layer::

        out = layer.forward(*inputs)        # keeps what backward needs
        d_inputs = layer.backward(upstream)  # fills layer.grads (keys of layer.params)

    As in :func:`gradcheck_function`, a seeded random upstream gradient ``G`` makes
    the scalar ``L = sum(G * layer.forward(*inputs))``.

    Parameters
    ----------
    layer : object
        ``params`` (dict of float64 arrays, perturbed in place and restored exactly),
        ``forward(*inputs) -> out``, ``backward(upstream) -> input gradients`` (one per
        input, ``None`` for an input that is not checked, a bare array for a single
        input; ``None`` altogether when no input is checked) and, after ``backward``,
        ``grads`` with the keys of ``params``.
    *inputs : arrays or other values
        What ``forward`` is called with; float arrays must be float64.
    wrt : sequence of int, optional
        Positions of the inputs to check; default every float array, ``()`` for none.
    names : sequence of str, optional
        Names of the inputs in the report; default: ``forward``'s parameter names.
    eps, tol, scale_floor, seed
        As in :func:`gradcheck_function`.

    Returns
    -------
    GradcheckReport
        One row per parameter, then one per checked input.
    """
    params = getattr(layer, "params", None)
    if not isinstance(params, dict) or not all(callable(getattr(layer, m, None))
                                               for m in ("forward", "backward")):
        raise TypeError("a layer needs a params dict and forward/backward methods")
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype != np.float64:
            raise ValueError(f"parameter {name!r} must be a float64 array for the check, "
                             f"got {getattr(p, 'dtype', type(p).__name__)}")
    pristine = working_copies(inputs)
    xs = working_copies(inputs)
    names = input_names(layer.forward, len(xs), names)
    names = [f"{n} (input)" if n in params else n for n in names]
    wrt = checked_inputs(xs, wrt, names, "forward")
    G = upstream_gradient(layer.forward(*xs), seed, "forward")
    check_untouched(xs, pristine, names, "forward")
    d_inputs = layer.backward(G)
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, dict):
        raise ValueError("after backward, layer.grads must be a dict with the keys of params")
    analytic = {}
    for name, p in params.items():
        if name not in grads:
            raise ValueError(f"backward left no gradient for parameter {name!r} in layer.grads")
        analytic[name] = np.array(grads[name], dtype=np.float64)  # a copy: forward may reuse it
        if analytic[name].shape != p.shape:
            raise ValueError(f"gradient of {name!r} has shape {analytic[name].shape}, "
                             f"parameter has {p.shape}")
    if wrt:
        d_inputs = as_grad_list(d_inputs, len(xs), "backward")
        analytic.update(analytic_gradients(d_inputs, xs, wrt, names, "backward"))
    check_untouched(xs, pristine, names, "backward")

    def objective() -> float:
        return weighted_sum(G, layer.forward(*xs), "forward")

    numerical = {name: _central_differences(objective, p, eps) for name, p in params.items()}
    numerical.update({names[i]: _central_differences(objective, xs[i], eps) for i in wrt})
    return _compare(analytic, numerical, tol, scale_floor)
