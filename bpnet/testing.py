"""Helpers for your own test suite: gradient assertions and hypothesis strategies.

::

    from bpnet.testing import assert_gradients_close

    def test_my_layer_backward():
        assert_gradients_close(my_layer, x)                 # a layer object
        assert_gradients_close(my_softmax, my_softmax_backward, z)   # a function pair
        assert_gradients_close(my_network, X, y)            # a whole model

:func:`assert_gradients_close` runs the matching checker of :mod:`bpnet.gradcheck` and
raises an ``AssertionError`` whose message is the report table, so a failing test shows
which parameter or input is wrong, its worst entry, and the two values there.

The strategies (:func:`network_configs`, :func:`network_problems`) draw random network
shapes, activation/loss pairs, stacks, inputs and labels for property-based tests with
`hypothesis <https://hypothesis.readthedocs.io>`_::

    from hypothesis import given
    from bpnet.testing import network_problems

    @given(network_problems())
    def test_backprop_matches_finite_differences(problem):
        assert_gradients_close(problem.net, problem.X, problem.y,
                               sample_weight=problem.sample_weight)

hypothesis is imported only when a strategy is built, so this module (and ``import
bpnet``) works without it. With ``bpnet-fer`` installed, pytest also gets the
``bpnet_gradcheck`` fixture (:mod:`bpnet.pytest_plugin`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .gradcheck import GradcheckReport, gradcheck, gradcheck_function, gradcheck_layer
from .losses import LOSSES, get_loss
from .network import BPNetwork

__all__ = ["NetworkProblem", "OUTPUT_LOSS_PAIRS", "assert_gradients_close", "is_model",
           "network_configs", "network_problems"]


def _valid_pairs() -> tuple[tuple[str, str], ...]:
    pairs = []
    for output in OUTPUT_ACTIVATIONS:
        for loss in LOSSES:
            try:
                get_loss(loss, output)
            except ValueError:
                continue
            pairs.append((output, loss))
    return tuple(pairs)


#: Every (output activation, loss) pair :class:`~bpnet.network.BPNetwork` accepts.
OUTPUT_LOSS_PAIRS: tuple[tuple[str, str], ...] = _valid_pairs()


def is_model(obj: Any) -> bool:
    """Whether ``obj`` is a model (``params`` and ``loss_and_grads``) rather than a function
    or a layer: :func:`assert_gradients_close` and the pytest fixture check models whole."""
    return isinstance(getattr(obj, "params", None), dict) and callable(
        getattr(obj, "loss_and_grads", None))


def _is_layer(obj: Any) -> bool:
    return isinstance(getattr(obj, "params", None), dict) and all(
        callable(getattr(obj, m, None)) for m in ("forward", "backward"))


def _check_step_and_tolerance(eps: Any, tol: Any) -> None:
    """``eps`` and ``tol`` as the check needs them: a step of 0 divides by zero, a NaN or
    negative tolerance fails every backward pass, correct ones too, and an infinite one
    passes every backward pass, wrong ones too."""
    for name, value, top in (("eps", eps, "at most 0.1"), ("tol", tol, "finite")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not 0 < value <= (0.1 if name == "eps" else math.inf) or not math.isfinite(value):
            raise ValueError(f"{name} must be positive and {top}, got {value!r}")


def assert_gradients_close(model_or_fn: Any, *args: Any, tol: float = 1e-6, eps: float = 1e-6,
                           **kwargs: Any) -> GradcheckReport:
    """Assert that a backward pass agrees with central finite differences.

    Three forms, told apart by the first argument:

    ``assert_gradients_close(model, X, y, **loss_kwargs)``
        ``model`` has ``params`` and ``loss_and_grads`` (:func:`bpnet.gradcheck.gradcheck`).
    ``assert_gradients_close(layer, *inputs, wrt=..., seed=...)``
        ``layer`` has ``params``, ``forward`` and ``backward``
        (:func:`bpnet.gradcheck.gradcheck_layer`).
    ``assert_gradients_close(f, df, *inputs, wrt=..., seed=...)``
        a function and its backward (:func:`bpnet.gradcheck.gradcheck_function`).

    Parameters
    ----------
    model_or_fn : model, layer or callable
    *args
        The data, the inputs, or ``df`` followed by the inputs.
    tol : float
        Largest relative error that passes.
    eps : float
        Finite-difference step.
    **kwargs
        Passed on to the checker.

    Returns
    -------
    GradcheckReport
        The report, when the check passes.

    Raises
    ------
    AssertionError
        Some gradient is off by ``tol`` or more; the message is the report table.
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this one
    _check_step_and_tolerance(eps, tol)
    if is_model(model_or_fn):
        if len(args) != 2:
            raise TypeError("a model is checked as assert_gradients_close(model, X, y)")
        report = gradcheck(model_or_fn, *args, eps=eps, tol=tol, **kwargs)
        what = f"{type(model_or_fn).__name__}.loss_and_grads"
    elif _is_layer(model_or_fn):
        report = gradcheck_layer(model_or_fn, *args, eps=eps, tol=tol, **kwargs)
        what = f"{type(model_or_fn).__name__}.backward"
    elif callable(model_or_fn):
        if not args or not callable(args[0]):
            raise TypeError("a function is checked as assert_gradients_close(f, df, *inputs)")
        report = gradcheck_function(model_or_fn, args[0], *args[1:], eps=eps, tol=tol, **kwargs)
        what = getattr(args[0], "__name__", "df")
        if what == "<lambda>":
            what = f"the backward of {getattr(model_or_fn, '__name__', 'f')}"
    else:
        raise TypeError(f"cannot check a {type(model_or_fn).__name__}: pass a model (params, "
                        f"loss_and_grads), a layer (params, forward, backward) or f, df")
    if not report.passed():
        raise AssertionError(f"{what} disagrees with central differences (tol {tol:g}):\n"
                             f"{report}")
    return report


# --- hypothesis strategies --------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkProblem:
    """A network and data to check it on, as drawn by :func:`network_problems`.

    Attributes
    ----------
    net : BPNetwork
        One network or a stack (``net.n_models``).
    X : ndarray, shape (n, n_inputs) or (K, n, n_inputs)
    y : ndarray of int, shape (n,)
    sample_weight : ndarray, shape (n,) or (K, n), or None
        Non-negative, with a positive sum for every model.
    """

    net: BPNetwork
    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None


def _hypothesis():
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("bpnet.testing's strategies need hypothesis: pip install hypothesis"
                          ) from None
    return st, hnp


def network_configs(*, max_inputs: int = 4, max_hidden: int = 5, min_outputs: int = 1,
                    max_outputs: int = 4, hidden: Sequence[str] = HIDDEN_ACTIVATIONS,
                    pairs: Sequence[tuple[str, str]] = OUTPUT_LOSS_PAIRS,
                    stacks: bool = True):
    """A strategy for :class:`~bpnet.network.BPNetwork` constructor arguments.

    Parameters
    ----------
    max_inputs, max_hidden, max_outputs : int
        Largest layer sizes drawn (the smallest is 1; shrinking goes towards 1).
    min_outputs : int
        Smallest number of outputs (classes). A softmax over one class is constant, so its
        gradients are exactly zero: ask for 2 when a test needs non-zero gradients.
    hidden : sequence of str
        Hidden activations to draw from.
    pairs : sequence of (output, loss)
        Output activation and loss pairs to draw from (default: all of them).
    stacks : bool
        Also draw stacks of 1-3 networks (``n_models``).

    Returns
    -------
    hypothesis strategy
        Of dicts ``{"n_inputs", "n_hidden", "n_outputs", "hidden", "output", "loss",
        "n_models", "seed"}``, ready for ``BPNetwork(**config)``.
    """
    st, _ = _hypothesis()
    if not 1 <= min_outputs <= max_outputs:
        raise ValueError(f"need 1 <= min_outputs <= max_outputs, got {min_outputs}, "
                         f"{max_outputs}")
    pair = st.sampled_from(tuple(pairs))
    return st.fixed_dictionaries({
        "n_inputs": st.integers(1, max_inputs), "n_hidden": st.integers(1, max_hidden),
        "n_outputs": st.integers(min_outputs, max_outputs),
        "hidden": st.sampled_from(tuple(hidden)), "pair": pair,
        "n_models": st.none() | st.integers(1, 3) if stacks else st.none(),
        "seed": st.integers(0, 2 ** 32 - 1),
    }).map(_unpack_pair)


def _unpack_pair(config: dict) -> dict:
    config = dict(config)
    config["output"], config["loss"] = config.pop("pair")
    return config


def network_problems(*, max_samples: int = 6, sample_weights: bool = True,
                     scale: float = 2.0, **config_kwargs):
    """A strategy for a network with inputs, labels and sample weights that fit it.

    Parameters
    ----------
    max_samples : int
        Largest number of samples (the smallest is 1).
    sample_weights : bool
        Also draw per-sample weights (per model for a stack).
    scale : float
        Inputs are drawn from ``[-scale, scale]``: large enough to reach the curved
        parts of the activations, small enough that finite differences stay accurate.
    **config_kwargs
        Passed to :func:`network_configs` (sizes, activations, pairs, stacks).

    Returns
    -------
    hypothesis strategy
        Of :class:`NetworkProblem`. A stack gets either shared inputs ``(n, d)`` or one
        set per model ``(K, n, d)``.
    """
    st, hnp = _hypothesis()
    configs = network_configs(**config_kwargs)
    values = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, width=64)
    weights = st.floats(0.0, 1.0, allow_nan=False, width=64)

    @st.composite
    def problems(draw) -> NetworkProblem:
        config = draw(configs)
        net = BPNetwork(**config)
        K = config["n_models"]
        n = draw(st.integers(1, max_samples))
        per_model = K is not None and draw(st.booleans())
        shape = (K, n, config["n_inputs"]) if per_model else (n, config["n_inputs"])
        X = draw(hnp.arrays(np.float64, shape, elements=values))
        y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, config["n_outputs"] - 1)))
        sw = None
        if sample_weights and draw(st.booleans()):
            w_shape = (n,) if K is None else (K, n)
            sw = draw(hnp.arrays(np.float64, w_shape, elements=weights)
                      .filter(lambda w: bool(np.all(w.sum(axis=-1) > 0.1))))
        return NetworkProblem(net, X, y, sw)

    return problems()
