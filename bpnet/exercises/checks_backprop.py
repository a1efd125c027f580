"""Hidden checks of exercises 1-3: a scalar graph, tanh, softmax with cross-entropy.

Oracles: the scalar graph of :class:`bpnet.teaching.Value`, and central finite differences
of the exercise's forward function as the starter file gives it (never the student's
copy). Each case names the typical mistake it catches in its hint.
"""
from __future__ import annotations

import numpy as np

from ..teaching import Value
from .grading import Case, Failure, expect_close, given, needs, numerical_gradient

# --- exercise 1: one neuron, node by node -------------------------------------------------
NEURON_NODES = ("L", "e", "h", "s", "n1", "n2", "b", "w1", "w2", "x1", "x2")


def _neuron_oracle(x1, x2, w1, w2, b, t, lam=0.1) -> dict[str, float]:
    leaves = {k: Value(v, k) for k, v in dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b).items()}
    n1 = leaves["w1"] * leaves["x1"]
    n2 = leaves["w2"] * leaves["x2"]
    s = n1 + n2 + leaves["b"]
    h = s.tanh()
    e = h - t
    L = e * e + lam * leaves["w1"] * leaves["w1"]
    L.backward()
    nodes = {"L": L, "e": e, "h": h, "s": s, "n1": n1, "n2": n2, **leaves}
    return {k: v.grad for k, v in nodes.items()}


def _neuron_case(point: dict, only: tuple[str, ...] = NEURON_NODES):
    def run(ns):
        got = needs(ns, "neuron_backward")(**point)
        if not isinstance(got, dict):
            raise Failure(f"neuron_backward returned {type(got).__name__}, expected a dict")
        missing = [k for k in NEURON_NODES if k not in got]
        if missing:
            raise Failure(f"no gradient for the nodes {', '.join(missing)}")
        want = _neuron_oracle(**point)
        for k in only:
            expect_close(np.float64(got[k]), np.float64(want[k]), f"dL/d{k} at {point}",
                         tol=1e-9)
    return run


NEURON = (
    Case("every node's gradient at a random point",
         _neuron_case(dict(x1=0.5, x2=-1.5, w1=0.8, w2=-0.3, b=0.1, t=0.7)),
         "go from L back to the leaves; d(e*e)/de = 2e, dtanh(s)/ds = 1 - h**2, and a sum "
         "passes its gradient unchanged to each term"),
    Case("w1 is used twice: when e = 0 only the penalty path is left",
         _neuron_case(dict(x1=0.5, x2=-1.5, w1=0.8, w2=-0.3, b=0.1,
                           t=float(np.tanh(0.8 * 0.5 + 0.3 * 1.5 + 0.1))), only=("w1",)),
         "dL/dw1 = (dL/dn1) x1 + 2 lam w1: add the gradients of both uses of w1"),
    Case("a saturated neuron (s = 6): the gradient through tanh nearly vanishes",
         _neuron_case(dict(x1=2.0, x2=1.0, w1=2.5, w2=0.5, b=0.5, t=-1.0, lam=0.0)),
         "write tanh's derivative from its output, 1 - h**2 (not 1 - s**2, nor 1 - h)"),
    Case("inputs get gradients too (dL/dx1 = dL/dn1 * w1)",
         _neuron_case(dict(x1=-0.2, x2=0.9, w1=-1.1, w2=0.4, b=-0.3, t=0.2, lam=0.05),
                      only=("x1", "x2")),
         "a product passes the gradient times the OTHER factor to each factor"),
)


# --- exercise 2: tanh from its output -----------------------------------------------------
def _tanh_case(shape: tuple, dtype=np.float64, ones: bool = False):
    def run(ns):
        rng = np.random.default_rng(len(shape))
        z = rng.normal(size=shape)
        G = np.ones(shape) if ones else rng.normal(size=shape)
        a = np.tanh(z).astype(dtype)
        got = needs(ns, "tanh_backward")(a.copy(), G.astype(dtype))
        zz = z.copy()
        want = numerical_gradient(lambda: float(np.sum(G * np.tanh(zz))), zz)
        upstream = "an all-ones" if ones else "a random"
        expect_close(got, want, f"dL/dz for a {dtype.__name__} input of shape {shape} and "
                     f"{upstream} upstream gradient", tol=1e-5 if dtype == np.float32 else 1e-7,
                     dtype=dtype)
    return run


TANH = (
    Case("all-ones upstream gradient, shape (4, 3)", _tanh_case((4, 3), ones=True),
         "d tanh(z)/dz = 1 - tanh(z)**2 = 1 - a**2, with a the forward output"),
    Case("random upstream gradient, shape (4, 3)", _tanh_case((4, 3)),
         "multiply by the upstream gradient grad_a (an all-ones upstream gradient hides "
         "its absence)"),
    Case("any shape: a vector (5,) and a (2, 3, 4) array", lambda ns: (
        _tanh_case((5,))(ns), _tanh_case((2, 3, 4))(ns)),
         "use elementwise operations only, no matrix products or fixed axes"),
    Case("float32 in, float32 out", _tanh_case((4, 3), dtype=np.float32),
         "avoid float64 constants that promote the result, e.g. np.float64(1) or "
         "np.ones(..) without a dtype"),
)


# --- exercise 3: softmax and cross-entropy ------------------------------------------------
def _softmax_case(n: int, C: int, scale: float = 1.0, dtype=np.float64):
    def run(ns):
        rng = np.random.default_rng(n * C)
        z = (scale * rng.normal(size=(n, C))).astype(dtype)
        y = rng.integers(0, C, size=n)
        loss = given("ex03_softmax.py", "softmax_cross_entropy")
        got = needs(ns, "softmax_cross_entropy_backward")(z.copy(), y)
        zz = z.astype(np.float64)
        want = numerical_gradient(lambda: float(loss(zz, y)), zz, eps=1e-6 * max(1.0, scale))
        expect_close(got, want, f"dL/dz for {n} samples and {C} classes"
                     + (f", logits of size ~{scale:g}" if scale != 1 else "")
                     + (", float32" if dtype == np.float32 else ""),
                     tol=1e-4 if dtype == np.float32 else 1e-6,
                     dtype=dtype if dtype == np.float32 else None)
    return run


SOFTMAX = (
    Case("one sample, 4 classes", _softmax_case(1, 4),
         "for one sample, dL/dz_k = p_k - [k == y]: the softmax's probabilities minus the "
         "one-hot target"),
    Case("a batch of 6 samples: the gradient of the mean", _softmax_case(6, 4),
         "the loss is the mean over the batch, so divide by the number of samples"),
    Case("large logits (about 1000) stay finite", _softmax_case(5, 3, scale=1000.0),
         "subtract each row's maximum before np.exp, as softmax_cross_entropy does"),
    Case("float32 logits give a float32 gradient", _softmax_case(5, 3, dtype=np.float32),
         "build the one-hot target with the logits' dtype, or subtract 1 in place"),
)
