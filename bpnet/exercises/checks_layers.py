"""Hidden checks of exercises 4-6: a masked layer, a planted bug, batch normalisation.

The oracle is always central finite differences of the exercise's forward pass as the
starter file gives it (never the student's copy, which may have been changed), summed
against an upstream gradient ``G``: ``L = sum(G * forward(...))``.
"""
from __future__ import annotations

import numpy as np

from .grading import Case, Failure, expect_close, given, needs, numerical_gradient


# --- exercise 4: a masked sigmoid layer ---------------------------------------------------
def _masked_run(ns, mask, n: int = 5):
    layer = needs(ns, "MaskedLayer")(3, len(mask), mask=mask)
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3))
    G = rng.normal(size=(n, len(mask)))
    layer.forward(x)
    dx = layer.backward(G)
    grads = dict(layer.grads)
    reference = given("ex04_masked.py", "MaskedLayer")(3, len(mask), mask=mask)
    reference.params = {name: np.array(layer.params[name], dtype=np.float64)
                        for name in ("W", "b")}  # the student's weights, the given forward

    def objective():
        return float(np.sum(G * reference.forward(x)))
    want = {name: numerical_gradient(objective, arr) for name, arr in reference.params.items()}
    want_x = numerical_gradient(objective, x)
    return grads, dx, want, want_x


def _masked_gradients(mask, n: int = 5):
    def run(ns):
        grads, dx, want, want_x = _masked_run(ns, mask, n)
        for name in ("W", "b"):
            if name not in grads:
                raise Failure(f"self.grads has no {name!r}")
            expect_close(grads[name], want[name], f"grads[{name!r}] with mask {mask}")
        expect_close(dx, want_x, f"the returned dL/dx (shape {want_x.shape}) with mask {mask}")
    return run


def _pruned_unit_is_silent(ns):
    grads, *_ = _masked_run(ns, [1, 0, 1, 1])
    W, b = np.asarray(grads.get("W")), np.asarray(grads.get("b"))
    if W.shape != (3, 4) or b.shape != (4,):
        raise Failure(f"grads['W'] has shape {W.shape} and grads['b'] {b.shape}, "
                      "expected (3, 4) and (4,)")
    if W[:, 1].any() or b[1] != 0:
        raise Failure(f"unit 1 is pruned (mask 0) but gets gradient: W[:, 1] = {W[:, 1]}, "
                      f"b[1] = {b[1]:.3g}; expected exactly 0")


MASKED = (
    Case("no unit pruned (mask all ones): W, b and x", _masked_gradients([1, 1, 1, 1]),
         "dz = upstream * a * (1 - a); dW = x.T @ dz, db = dz.sum(axis=0), dx = dz @ W.T"),
    Case("unit 1 pruned: W, b and x", _masked_gradients([1, 0, 1, 1]),
         "the mask multiplies the output, so it multiplies the gradient too"),
    Case("the pruned unit gets exactly zero gradient", _pruned_unit_is_silent,
         "multiply dz by self.mask"),
    Case("a batch of one pattern", _masked_gradients([0, 1, 1, 0], n=1),
         "sum over the batch axis (axis=0), never over a fixed number of rows"),
)


# --- exercise 5: find the bug -------------------------------------------------------------
def _reference_loss(p: dict, X: np.ndarray, T: np.ndarray) -> float:
    out = np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    return 0.5 * float(np.sum((out - T) ** 2)) / len(X)


def _bug_case(names: tuple[str, ...], n: int = 6):
    def run(ns):
        net = needs(ns, "TwoLayerNet")()
        rng = np.random.default_rng(n)
        X, T = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
        loss, grads = net.loss_and_grads(X, T)
        expect_close(np.float64(loss), np.float64(_reference_loss(net.params, X, T)),
                     "the loss", tol=1e-10)
        params = {k: np.array(v, dtype=np.float64) for k, v in net.params.items()}
        for name in names:
            want = numerical_gradient(lambda: _reference_loss(params, X, T), params[name])
            expect_close(grads[name], want, f"grads[{name!r}] on a batch of {n}")
    return run


BUG = (
    Case("the output layer: W2, b2 (and the loss)", _bug_case(("W2", "b2")),
         "the output layer was right to begin with: change only the line that is wrong"),
    Case("the hidden layer: W1, b1", _bug_case(("W1", "b1")),
         "W2 and b2 are right, W1 and b1 are not: the bug lies between d_a and W1, in the "
         "derivative of tanh"),
    Case("a batch of one pattern", _bug_case(("W1", "b1", "W2", "b2"), n=1),
         "keep the division by len(X): the loss is a mean over the batch"),
)


# --- exercise 6: batch normalisation ------------------------------------------------------
def _bn_setup(ns, n: int, d: int, ones: bool, dtype=np.float64):
    rng = np.random.default_rng(n + d)
    x = (3.0 + 2.0 * rng.normal(size=(n, d))).astype(dtype)
    gamma = (1.0 + rng.random(d)).astype(dtype)
    beta = rng.normal(size=d).astype(dtype)
    G = np.ones((n, d)) if ones else rng.normal(size=(n, d))
    forward = given("ex06_batchnorm.py", "batchnorm_forward")
    got = needs(ns, "batchnorm_backward")(x.copy(), gamma.copy(), beta.copy(), G.astype(dtype))
    if not isinstance(got, tuple) or len(got) != 3:
        raise Failure("batchnorm_backward must return a tuple (dx, dgamma, dbeta)")
    x64, g64, b64 = (a.astype(np.float64) for a in (x, gamma, beta))

    def objective():
        return float(np.sum(G * forward(x64, g64, b64)))
    want = tuple(numerical_gradient(objective, a, eps=1e-5) for a in (x64, g64, b64))
    return got, want


def _bn_case(parts: tuple[int, ...], n: int = 8, d: int = 3, ones: bool = False,
             dtype=np.float64):
    names = ("dx", "dgamma", "dbeta")

    def run(ns):
        got, want = _bn_setup(ns, n, d, ones, dtype)
        upstream = "all-ones" if ones else "random"
        for k in parts:
            expect_close(got[k], want[k], f"{names[k]} ({n} x {d} batch, {upstream} upstream "
                         f"gradient{', float32' if dtype == np.float32 else ''})",
                         tol=1e-3 if dtype == np.float32 else 1e-6,
                         dtype=dtype if dtype == np.float32 else None)
    return run


BATCHNORM = (
    Case("dbeta and dgamma, random upstream gradient", _bn_case((1, 2)),
         "dbeta = grad_out.sum(axis=0) (a sum over the batch, not a mean); "
         "dgamma = (grad_out * xhat).sum(axis=0)"),
    Case("all-ones upstream gradient: dx is 0", _bn_case((0,), ones=True),
         "adding a constant to a column moves its mean too and changes no output: mu and "
         "var depend on x, so they are not constants in the backward pass"),
    Case("dx, random upstream gradient", _bn_case((0,)),
         "dx = gamma / sqrt(var + eps) * (g - g.mean(0) - xhat * (g * xhat).mean(0)) with "
         "g = grad_out; an all-ones upstream gradient hides a missing g in the last term"),
    Case("a batch of two, and float32 input", lambda ns: (
        _bn_case((0, 1, 2), n=2, d=4)(ns), _bn_case((0, 1, 2), dtype=np.float32)(ns)),
         "use the shapes of the arrays (x.shape[0]) rather than fixed sizes, and keep "
         "the input's dtype"),
)
