"""BPNetwork: finite differences and PyTorch autograd as two independent oracles."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import bpnet
from bpnet.selfcheck import OUTPUT_LOSS_PAIRS

HIDDEN = ("sigmoid", "tanh", "relu")
COMBOS = [(h, o, loss) for h in HIDDEN for o, loss in OUTPUT_LOSS_PAIRS]
STACK = [None, 3]


def make_problem(seed, n=10, n_in=4, n_out=3, n_models=None, shared_X=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in) if shared_X or n_models is None else (n_models, n, n_in))
    y = rng.integers(0, n_out, size=n)
    sw = None
    if n_models is not None:
        sw = (rng.random((n_models, n)) < 0.7).astype(float)
        sw[:, 0] = 1.0
    return X, y, sw


@pytest.mark.parametrize("n_models", STACK)
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_gradcheck_every_combination(hidden, output, loss, n_models):
    X, y, sw = make_problem(0, n_models=n_models)
    net = bpnet.BPNetwork(4, 5, 3, hidden=hidden, output=output, loss=loss, n_models=n_models,
                          seed=1)
    report = bpnet.gradcheck(net, X, y, sample_weight=sw)
    assert set(report) == {"W1", "b1", "W2", "b2"}
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("n_models", STACK)
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_equals_torch(hidden, output, loss, n_models):
    tr = pytest.importorskip("bpnet.torch_reference")
    pytest.importorskip("torch")
    X, y, sw = make_problem(1, n_models=n_models)
    net = bpnet.BPNetwork(4, 5, 3, hidden=hidden, output=output, loss=loss, n_models=n_models,
                          seed=2)
    ref = tr.to_torch(net)
    np.testing.assert_allclose(net.forward(X), ref.predict_outputs(X), rtol=0, atol=1e-12)
    loss_np, g_np = net.loss_and_grads(X, y, sample_weight=sw)
    loss_t, g_t = ref.loss_and_grads(X, y, sample_weight=sw)
    np.testing.assert_allclose(loss_np, loss_t, rtol=0, atol=1e-12)
    for name in g_np:
        assert g_np[name].shape == net.params[name].shape
        np.testing.assert_allclose(g_np[name], g_t[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy")])
def test_class_weights_equal_torch(output, loss):
    tr = pytest.importorskip("bpnet.torch_reference")
    pytest.importorskip("torch")
    X, y, _ = make_problem(3, n=15)
    net = bpnet.BPNetwork(4, 6, 3, output=output, loss=loss, class_weight=[0.5, 2.0, 1.3], seed=0)
    assert bpnet.gradcheck(net, X, y).max_error < 1e-6
    loss_np, g_np = net.loss_and_grads(X, y)
    loss_t, g_t = tr.to_torch(net).loss_and_grads(X, y)
    assert abs(loss_np - loss_t) < 1e-12
    for name in g_np:
        np.testing.assert_allclose(g_np[name], g_t[name], rtol=0, atol=1e-10)


def test_non_binary_sample_weights_equal_torch():
    tr = pytest.importorskip("bpnet.torch_reference")
    pytest.importorskip("torch")
    X, y, _ = make_problem(4, n=9)
    sw = np.random.default_rng(0).random(9) * 3
    for output, loss in OUTPUT_LOSS_PAIRS:
        net = bpnet.BPNetwork(4, 3, 3, output=output, loss=loss, seed=0)
        a, ga = net.loss_and_grads(X, y, sample_weight=sw)
        b, gb = tr.to_torch(net).loss_and_grads(X, y, sample_weight=sw)
        assert abs(a - b) < 1e-12
        for name in ga:
            np.testing.assert_allclose(ga[name], gb[name], rtol=0, atol=1e-10)


def test_stack_equals_independent_networks():
    """Model k of a stack trained on mask k computes what a lone network on that subset does."""
    K = 3
    X, y, sw = make_problem(5, n=12, n_models=K)
    stack = bpnet.BPNetwork(4, 5, 3, n_models=K, seed=0)
    losses, grads = stack.loss_and_grads(X, y, sample_weight=sw)
    assert losses.shape == (K,)
    for k in range(K):
        single = stack.select_model(k)
        keep = sw[k] == 1
        loss_k, grads_k = single.loss_and_grads(X[keep], y[keep])
        assert losses[k] == pytest.approx(loss_k, abs=1e-14)
        for name in grads_k:
            np.testing.assert_allclose(grads[name][k], grads_k[name], atol=1e-14)


def test_stack_accepts_per_model_inputs():
    K = 2
    X, y, _ = make_problem(6, n=8, n_models=K, shared_X=False)
    net = bpnet.BPNetwork(4, 3, 3, n_models=K, seed=0)
    out = net.forward(X)
    assert out.shape == (K, 8, 3)
    np.testing.assert_allclose(out[1], net.select_model(1).forward(X[1]), atol=1e-15)
    assert bpnet.gradcheck(net, X, y).max_error < 1e-6


@settings(max_examples=40, deadline=None)
@example(n=1, n_in=1, n_hid=1, n_out=2, n_models=None, combo=COMBOS[0], seed=0)
@example(n=1, n_in=1, n_hid=1, n_out=1, n_models=2, combo=COMBOS[-1], seed=1)
# b1's whole gradient is 4e-6 here: only the model-wide scale floor keeps rounding noise quiet
@example(n=3, n_in=1, n_hid=1, n_out=2, n_models=2, combo=("relu", "softmax", "mse"), seed=266)
@given(n=st.integers(1, 6), n_in=st.integers(1, 4), n_hid=st.integers(1, 4),
       n_out=st.integers(1, 4), n_models=st.sampled_from([None, 1, 2]),
       combo=st.sampled_from(COMBOS), seed=st.integers(0, 2**16))
def test_random_shapes(n, n_in, n_hid, n_out, n_models, combo, seed):
    hidden, output, loss = combo
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = rng.integers(0, n_out, size=n)
    net = bpnet.BPNetwork(n_in, n_hid, n_out, hidden=hidden, output=output, loss=loss,
                          n_models=n_models, seed=seed)
    assert bpnet.gradcheck(net, X, y).max_error < 1e-6
    try:
        import torch  # noqa: F401

        from bpnet.torch_reference import to_torch
    except ImportError:
        return
    ref = to_torch(net)
    np.testing.assert_allclose(net.forward(X), ref.predict_outputs(X), rtol=0, atol=1e-12)
    _, g = net.loss_and_grads(X, y)
    _, g_ref = ref.loss_and_grads(X, y)
    for name in g:
        np.testing.assert_allclose(g[name], g_ref[name], rtol=0, atol=1e-10)


def test_param_shapes_and_init_bounds():
    net = bpnet.BPNetwork(10, 32, 7, seed=0)
    assert {k: v.shape for k, v in net.params.items()} == \
        {"W1": (10, 32), "b1": (32,), "W2": (32, 7), "b2": (7,)}
    # torch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    assert np.abs(net.params["W1"]).max() <= 10 ** -0.5
    assert np.abs(net.params["W2"]).max() <= 32 ** -0.5
    big = bpnet.BPNetwork(400, 300, 2, seed=0).params["W1"]
    assert np.abs(big).max() == pytest.approx(400 ** -0.5, rel=1e-3)
    assert big.std() == pytest.approx(400 ** -0.5 / np.sqrt(3), rel=0.01)  # uniform's std
    stacked = bpnet.BPNetwork(10, 32, 7, seed=0, n_models=4)
    assert stacked.params["W1"].shape == (4, 10, 32) and stacked.params["b2"].shape == (4, 7)
    assert not np.allclose(stacked.params["W1"][0], stacked.params["W1"][1])
    xavier = bpnet.BPNetwork(10, 32, 7, init="xavier", seed=0)
    assert np.all(xavier.params["b1"] == 0)
    assert np.abs(xavier.params["W1"]).max() <= np.sqrt(6 / 42)


def test_seed_determinism_and_float32():
    a, b = bpnet.BPNetwork(3, 4, 2, seed=7), bpnet.BPNetwork(3, 4, 2, seed=7)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    net32 = bpnet.BPNetwork(3, 4, 2, seed=7, dtype=np.float32)
    X = np.ones((2, 3))
    loss, grads = net32.loss_and_grads(X, [0, 1])
    assert net32.forward(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS_PAIRS)
def test_extreme_logits_stay_finite(output, loss):
    net = bpnet.BPNetwork(2, 3, 3, output=output, loss=loss, hidden="relu", seed=0)
    X = np.array([[1e4, -1e4], [-1e4, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        value, grads = net.loss_and_grads(X, [0, 2])
        out = net.forward(X)
    assert np.isfinite(value) and np.all(np.isfinite(out))
    assert all(np.all(np.isfinite(g)) for g in grads.values())


@pytest.mark.parametrize("kwargs,match", [
    (dict(hidden="softplus"), "unknown activation"),
    (dict(output="tanh"), "unknown activation"),
    (dict(loss="hinge"), "unknown loss"),
    (dict(output="identity", loss="cross_entropy"), "needs output"),
    (dict(class_weight=[1, 1]), "only defined for loss='cross_entropy'"),
    (dict(loss="cross_entropy", output="softmax", class_weight=[1, 1]), "class_weight"),
    (dict(dtype=np.int32), "dtype"),
    (dict(init="he"), "unknown init"),
    (dict(n_models=0), "n_models"),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bpnet.BPNetwork(3, 4, 3, **kwargs)


@pytest.mark.parametrize("X,y,match", [
    (np.ones((4, 2)), [0, 1, 0, 1], "2 features"),
    (np.ones(3), [0], "shape"),
    (np.ones((0, 3)), [], "empty"),
    (np.array([[1.0, np.nan, 0.0]]), [0], "NaN"),
    (np.array([[1.0, np.inf, 0.0]]), [0], "NaN or inf"),
    (np.ones((2, 3)), [0, 3], "labels must lie in 0..2"),
    (np.ones((2, 3)), [0, -1], "labels"),
    (np.ones((2, 3)), [0.5, 1], "integer"),
    (np.ones((2, 3)), [0, 1, 1], "3 labels for 2 samples"),
])
def test_bad_input(X, y, match):
    net = bpnet.BPNetwork(3, 4, 3)
    with pytest.raises(ValueError, match=match):
        net.loss_and_grads(X, y)


def test_empty_training_mask_is_an_error():
    net = bpnet.BPNetwork(3, 4, 3, n_models=2)
    sw = np.array([[1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"model\(s\) \[1\]"):
        net.loss_and_grads(np.ones((2, 3)), [0, 1], sample_weight=sw)


def test_unit_mask_removes_units_exactly():
    X, y, _ = make_problem(8, n=6)
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    net.unit_mask = np.array([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=float)
    assert bpnet.gradcheck(net, X, y).max_error < 1e-6
    small = net.select_model(0)
    assert small.n_hidden == 3 and small.unit_mask is None
    np.testing.assert_allclose(small.forward(X), net.forward(X)[0], atol=1e-15)
    np.testing.assert_array_equal(net.n_live_units(), [3, 5])
