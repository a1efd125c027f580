"""What the function and layer gradient checks do with a caller's inputs and gradients.

Private helpers of :mod:`bpnet.gradcheck`: copy the inputs (the checks perturb copies,
never the caller's arrays), choose and name the inputs to differentiate, insist on float64,
turn a backward's return value into one gradient per input, and catch a function that
changes its inputs in place.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np


def working_copies(inputs: Sequence[Any]) -> list:
    """Private copies of the inputs (the check perturbs these, never the caller's arrays)."""
    out = []
    for x in inputs:
        if isinstance(x, (np.ndarray, np.number)):
            out.append(np.array(x))  # a copy, keeping the dtype (float32 is refused later)
        elif isinstance(x, (bool, np.bool_)) or x is None:
            out.append(x)
        elif isinstance(x, (int, float, list, tuple)):
            # plain Python numbers and lists: float64 unless they hold only ints
            a = np.asarray(x)
            out.append(a.astype(np.float64) if a.dtype.kind == "f" else a)
        else:
            out.append(x)  # anything else (a config, a callable) is passed through untouched
    return out


def checked_inputs(xs: list, wrt: Sequence[int] | None, names: list[str], who: str) -> list[int]:
    """Indices of the inputs to differentiate; float64 arrays only."""
    floating = [i for i, x in enumerate(xs) if isinstance(x, np.ndarray) and x.dtype.kind == "f"]
    if wrt is None:
        wrt = floating
    wrt = [int(i) for i in wrt]
    for i in wrt:
        if not 0 <= i < len(xs):
            raise ValueError(f"wrt index {i} is out of range for {len(xs)} input(s) of {who}")
        x = xs[i]
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            raise ValueError(f"input {names[i]!r} is not a float array, so it has no gradient; "
                             f"leave it out of wrt")
        if x.dtype != np.float64:
            raise ValueError(f"input {names[i]!r} is {x.dtype}: the check needs float64 (rounding "
                             f"in {x.dtype} swamps the finite differences); pass "
                             f"x.astype(np.float64)")
    return wrt


def input_names(fn: Callable, n: int, names: Sequence[str] | None) -> list[str]:
    """The inputs' names: given, else the function's positional parameter names, else x0, x1..."""
    if names is not None:
        if len(names) != n:
            raise ValueError(f"names has {len(names)} entries for {n} input(s)")
        return [str(name) for name in names]
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins and some C functions have no signature
        params = []
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= n and len(set(positional[:n])) == n:
        return positional[:n]
    return [f"x{i}" for i in range(n)]


def as_grad_list(grads: Any, n: int, who: str) -> list:
    """One gradient per input: a bare array is accepted when there is a single input."""
    if n == 1 and (grads is None or isinstance(grads, np.ndarray) or np.isscalar(grads)):
        return [grads]
    if not isinstance(grads, (tuple, list)) or len(grads) != n:
        got = type(grads).__name__ if not isinstance(grads, (tuple, list)) else \
            f"{len(grads)} gradients"
        raise ValueError(f"{who} must return one gradient per input ({n}, None for an input "
                         f"that is not checked), got {got}")
    return list(grads)


def analytic_gradients(grads: list, xs: list, wrt: list[int], names: list[str], who: str) -> dict:
    out = {}
    for i in wrt:
        if grads[i] is None:
            raise ValueError(f"{who} returned no gradient for input {names[i]!r} "
                             f"(leave it out of wrt if it is not differentiable)")
        g = np.array(grads[i], dtype=np.float64)
        if g.shape != xs[i].shape:
            raise ValueError(f"{who} returned a gradient of shape {g.shape} for input "
                             f"{names[i]!r} of shape {xs[i].shape}")
        out[names[i]] = g
    return out


def check_untouched(xs: list, pristine: list, names: list[str], who: str) -> None:
    for x, x0, name in zip(xs, pristine, names):
        if isinstance(x, np.ndarray) and not np.array_equal(x, x0, equal_nan=x.dtype.kind == "f"):
            raise ValueError(f"{who} changed its input {name!r} in place; the check (and any "
                             f"caller) needs inputs left as they were")


def upstream_gradient(out: Any, seed: int | np.random.Generator, who: str) -> np.ndarray:
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise ValueError(f"{who} must return a float array, got dtype {out.dtype}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{who} returned NaN or inf at the given inputs")
    return np.random.default_rng(seed).standard_normal(out.shape)


def weighted_sum(G: np.ndarray, out: Any, who: str) -> float:
    """The scalar the check differentiates, ``sum(G * out)``."""
    out = np.asarray(out)
    if out.shape != G.shape:
        raise ValueError(f"{who} returned shape {out.shape} for a perturbed input, "
                         f"{G.shape} before")
    return float(np.sum(G * out))
