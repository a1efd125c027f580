"""bpnet.teaching: the scalar graph computes the right gradients, the same as BPNetwork."""
import math

import matplotlib
import numpy as np
import pytest

import bpnet
from bpnet.teaching import Value, draw_graph, two_moons

matplotlib.use("Agg")


def graph(a: float, b: float, c: float) -> Value:
    """Uses ``a`` three times and every operation once: a node used twice must add up."""
    x, y, z = Value(a, "a"), Value(b, "b"), Value(c, "c")
    return ((x * y + z).tanh() - x) ** 2 + (x * 2.0 - z / 4.0).sigmoid() + 3.0 - x


@pytest.mark.parametrize("point", [(0.5, -1.2, 0.3), (2.0, 1.5, -40.0), (-0.1, 0.0, 60.0)])
def test_gradients_match_central_differences(point):
    out = graph(*point)
    out.backward()
    leaves = {v.label: v for v in out.nodes() if v.label in ("a", "b", "c")}
    for k, name in enumerate("abc"):
        eps = 1e-6
        up, down = list(point), list(point)
        up[k] += eps
        down[k] -= eps
        numeric = (graph(*up).data - graph(*down).data) / (2 * eps)
        assert leaves[name].grad == pytest.approx(numeric, rel=1e-6, abs=1e-8), name


def test_backward_twice_gives_the_same_gradients():
    out = graph(0.5, -1.2, 0.3)
    out.backward()
    first = [v.grad for v in out.nodes()]
    out.backward()  # gradients are reset, not accumulated across calls
    assert [v.grad for v in out.nodes()] == first


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0
    assert Value(-30.0).sigmoid().data == pytest.approx(math.exp(-30.0), rel=1e-12)


def test_a_scalar_graph_of_the_network_matches_bpnetwork():
    net = bpnet.BPNetwork(3, 4, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=3)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    T = bpnet.one_hot(y, 2)
    V = {k: np.array([Value(w) for w in a.ravel()], dtype=object).reshape(a.shape)
         for k, a in net.params.items()}
    terms = []
    for x, t in zip(X, T):
        h = [sum((x[i] * V["W1"][i, j] for i in range(3)), V["b1"][j]).sigmoid() for j in range(4)]
        o = [sum((h[j] * V["W2"][j, k] for j in range(4)), V["b2"][k]).sigmoid() for k in range(2)]
        terms += [(ok - tk) ** 2 for ok, tk in zip(o, t)]
    loss = sum(terms[1:], terms[0]) / len(terms)
    loss.backward()
    value, grads = net.loss_and_grads(X, y)
    assert loss.data == pytest.approx(value, abs=1e-14)
    for k, g in grads.items():
        np.testing.assert_allclose(np.vectorize(lambda v: v.grad)(V[k]), g, atol=1e-14)


def test_draw_graph_shows_every_node_with_its_gradient():
    out = graph(0.5, -1.2, 0.3)
    out.backward()
    ax = draw_graph(out)
    texts = [t.get_text() for t in ax.texts if "\ngrad " in t.get_text()]  # not the arrows
    assert len(texts) == len(out.nodes())
    assert sum("grad 1.0000" in t for t in texts) >= 1  # the output: dL/dL = 1
    assert any(t.startswith("a\n") for t in texts)


def test_two_moons_is_standardised_and_not_linearly_separable():
    X, y = two_moons(n=400, seed=1)
    assert X.shape == (400, 2) and set(np.unique(y)) == {0, 1}
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-12)
    # the best straight line (least squares on the labels) leaves errors: a hidden layer is needed
    A = np.column_stack([X, np.ones(len(X))])
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((A @ w > 0) == y) < 0.95
