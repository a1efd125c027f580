"""gradcheck_function and gradcheck_layer: any shapes, one or several inputs, right and wrong."""
import numpy as np
import pytest

from bpnet.activations import softmax
from bpnet.gradcheck import _compare, gradcheck_function, gradcheck_layer

RNG = np.random.default_rng(0)


def affine(x, W, b):
    """x (..., n, d) @ W (d, m) + b (m,): a batched affine map."""
    return x @ W + b


def affine_backward(G, x, W, b):
    sum_axes = tuple(range(G.ndim - 1))
    return G @ W.T, np.tensordot(x, G, axes=(sum_axes, sum_axes)), G.sum(axis=sum_axes)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (1, 1, 1, 1)])
def test_elementwise_function_of_any_shape(shape):
    z = RNG.normal(size=shape)
    report = gradcheck_function(np.tanh, lambda G, z: G * (1 - np.tanh(z) ** 2), z)
    assert report.passed() and list(report) == ["x"]  # np.tanh's argument is called x
    assert report.numerical["x"].shape == shape


@pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
def test_several_inputs_and_leading_axes(lead):
    x, W, b = RNG.normal(size=lead + (4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    report = gradcheck_function(affine, affine_backward, x, W, b)
    assert list(report) == ["x", "W", "b"]  # names from the signature
    assert report.max_error < 1e-8


def test_a_wrong_entry_is_named_with_its_index():
    def backward_with_one_bad_entry(G, x, W, b):
        dx, dW, db = affine_backward(G, x, W, b)
        db = db.copy()
        db[1] *= -1
        return dx, dW, db

    x, W, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    report = gradcheck_function(affine, backward_with_one_bad_entry, x, W, b)
    assert not report.passed()
    assert report["b"] > 0.5 and report.worst_index["b"] == (1,)
    assert report["x"] < 1e-8 and report["W"] < 1e-8
    assert report.analytic["b"][1] == pytest.approx(-report.numerical["b"][1])
    assert "FAIL" in str(report) and str(report).count("ok") == 2


def test_random_upstream_catches_a_backward_that_ones_would_pass():
    # softmax outputs sum to 1, so d sum(softmax(z)) / dz = 0: with an upstream of ones a
    # backward returning zeros would look right; the random upstream exposes it
    z = RNG.normal(size=(3, 4))
    ones_gradient = gradcheck_function(softmax, lambda G, z: np.zeros_like(z), z)
    assert not ones_gradient.passed()

    def softmax_backward(G, z):
        a = softmax(z)
        return a * (G - (G * a).sum(axis=-1, keepdims=True))

    assert gradcheck_function(softmax, softmax_backward, z).passed()


def test_inputs_are_left_exactly_as_they_were():
    x, W, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    before = [a.copy() for a in (x, W, b)]
    gradcheck_function(affine, lambda G, *a: [np.zeros_like(v) for v in a], x, W, b)
    for a, a0 in zip((x, W, b), before):
        np.testing.assert_array_equal(a, a0)


def test_integer_inputs_are_passed_through_and_not_checked():
    def cross_entropy(z, y):
        m = z.max(axis=-1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
        return np.mean(lse - z[np.arange(len(y)), y])

    def cross_entropy_backward(G, z, y):
        return G * (softmax(z) - np.eye(z.shape[1])[y]) / len(y), None

    z, y = RNG.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    report = gradcheck_function(cross_entropy, cross_entropy_backward, z, y)
    assert list(report) == ["z"] and report.passed()
    with pytest.raises(ValueError, match="'y' is not a float array"):
        gradcheck_function(cross_entropy, cross_entropy_backward, z, y, wrt=[0, 1])


def test_float32_inputs_are_refused():
    z = RNG.normal(size=3).astype(np.float32)
    with pytest.raises(ValueError, match="float32: the check needs float64"):
        gradcheck_function(np.tanh, lambda G, z: G, z)


def test_python_numbers_and_lists_become_float64():
    report = gradcheck_function(lambda x, y: x * y, lambda G, x, y: (np.sum(G * y), G * x),
                                1.5, [2.0, 3.0])
    assert report.passed() and set(report) == {"x", "y"}


@pytest.mark.parametrize("backward, message", [
    (lambda G, x, W, b: (G @ W.T, x.T @ G), "one gradient per input"),
    (lambda G, x, W, b: G @ W.T, "one gradient per input"),
    (lambda G, x, W, b: (G @ W.T, (x.T @ G).T, G.sum(0)), r"shape \(2, 3\) for input 'W'"),
    (lambda G, x, W, b: (G @ W.T, x.T @ G, None), "no gradient for input 'b'"),
])
def test_malformed_backward_is_a_clear_error(backward, message):
    x, W, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=2)
    with pytest.raises(ValueError, match=message):
        gradcheck_function(affine, backward, x, W, b)


def test_a_function_that_changes_its_input_is_refused():
    def relu_in_place(z):
        np.maximum(z, 0, out=z)
        return z

    with pytest.raises(ValueError, match="f changed its input 'z' in place"):
        gradcheck_function(relu_in_place, lambda G, z: G * (z > 0), RNG.normal(size=4))


def test_the_seed_fixes_the_upstream_gradient():
    z = RNG.normal(size=(3, 4))
    seen = []

    def backward(G, z):
        seen.append(G.copy())
        return G * (1 - np.tanh(z) ** 2)

    a = gradcheck_function(np.tanh, backward, z, seed=3)
    b = gradcheck_function(np.tanh, backward, z, seed=3)
    gradcheck_function(np.tanh, backward, z, seed=4)
    np.testing.assert_array_equal(seen[0], seen[1])
    assert not np.array_equal(seen[0], seen[2])
    assert a == b


def test_scale_floor_keeps_a_tiny_gradient_from_failing_on_rounding():
    # b's true gradient is 1e-9 (everything else ~1); a central difference of a loss of
    # size ~1 carries an absolute rounding error of ~1e-16 / 1e-6 = 1e-10, here 3e-10
    numerical = {"a": np.array([1.0, -2.0]), "b": np.array([1e-9])}
    analytic = {"a": numerical["a"] * (1 + 1e-9), "b": numerical["b"] + 3e-10}
    report = _compare(analytic, numerical, tol=1e-6, scale_floor=1e-3)
    assert report.passed() and report["b"] == pytest.approx(3e-10 / 2e-3)
    # divided by its own largest entry alone, the same noise would be a 30 % error
    assert _compare(analytic, numerical, 1e-6, scale_floor=0.0)["b"] == pytest.approx(0.3)
    # a real error in b stays visible through the floor
    analytic["b"] = -numerical["b"] * 1e4
    assert not _compare(analytic, numerical, 1e-6, 1e-3).passed()


def test_all_zero_gradients_report_absolute_differences():
    report = gradcheck_function(lambda x: 0.0 * x, lambda G, x: np.full_like(x, 1e-3),
                                np.ones(3))
    assert report["x"] == pytest.approx(1e-3)


# --- layers -------------------------------------------------------------------------------------
class Linear:
    """A layer as NumPy courses write them: forward caches, backward fills grads."""

    def __init__(self, n_in, n_out, seed=0, bug=None):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=n_out)}
        self.grads = {}
        self.bug = bug

    def forward(self, x):
        self.x = x
        return np.tanh(x @ self.params["W"] + self.params["b"])

    def backward(self, upstream):
        self.out = np.tanh(self.x @ self.params["W"] + self.params["b"])
        dz = upstream if self.bug == "no tanh derivative" else upstream * (1 - self.out ** 2)
        self.grads["W"] = self.x.T @ dz
        self.grads["b"] = dz.mean(axis=0) if self.bug == "mean for sum" else dz.sum(axis=0)
        return dz @ self.params["W"].T


def test_a_correct_layer_passes_for_parameters_and_input():
    layer = Linear(3, 2)
    x = RNG.normal(size=(5, 3))
    before = {k: v.copy() for k, v in layer.params.items()}
    report = gradcheck_layer(layer, x)
    assert list(report) == ["W", "b", "x"] and report.max_error < 1e-8
    for k in before:
        np.testing.assert_array_equal(layer.params[k], before[k])


@pytest.mark.parametrize("bug, wrong", [("mean for sum", {"b"}),
                                        ("no tanh derivative", {"W", "b", "x"})])
def test_a_broken_layer_fails_where_the_bug_is(bug, wrong):
    report = gradcheck_layer(Linear(3, 2, bug=bug), RNG.normal(size=(5, 3)))
    assert {name for name, err in report.items() if err > 1e-3} == wrong


def test_layer_without_input_gradient():
    class FirstLayer(Linear):
        def backward(self, upstream):
            super().backward(upstream)
            return None  # a first layer need not compute dx

    report = gradcheck_layer(FirstLayer(3, 2), RNG.normal(size=(4, 3)), wrt=())
    assert list(report) == ["W", "b"] and report.passed()


def test_layer_with_a_mask_input():
    class Masked(Linear):
        def forward(self, x, mask):
            self.mask = mask
            return super().forward(x) * mask

        def backward(self, upstream):
            return super().backward(upstream * self.mask), None

    mask = np.array([1.0, 0.0])
    report = gradcheck_layer(Masked(3, 2), RNG.normal(size=(4, 3)), mask, wrt=[0])
    assert list(report) == ["W", "b", "x"] and report.passed()


def test_layer_errors():
    class Float32(Linear):
        def __init__(self):
            super().__init__(2, 2)
            self.params["W"] = self.params["W"].astype(np.float32)

    with pytest.raises(ValueError, match="'W' must be a float64 array"):
        gradcheck_layer(Float32(), RNG.normal(size=(2, 2)))

    class NoBiasGrad(Linear):
        def backward(self, upstream):
            dx = super().backward(upstream)
            del self.grads["b"]
            return dx

    with pytest.raises(ValueError, match="no gradient for parameter 'b'"):
        gradcheck_layer(NoBiasGrad(2, 2), RNG.normal(size=(2, 2)))
    with pytest.raises(TypeError, match="params dict and forward/backward"):
        gradcheck_layer(object(), np.ones(2))
