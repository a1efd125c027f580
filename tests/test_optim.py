"""Optimisers: 200-step parameter trajectories equal torch.optim's within 1e-9."""
import numpy as np
import pytest

import bpnet

CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.3}),
]


@pytest.mark.parametrize("n_models", [None, 2])
@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_trajectory_equals_torch(name, kwargs, n_models):
    tr = pytest.importorskip("bpnet.torch_reference")
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    sw = None if n_models is None else (rng.random((n_models, 20)) < 0.8).astype(float)
    net = bpnet.BPNetwork(4, 6, 3, hidden="tanh", output="softmax", loss="cross_entropy",
                          n_models=n_models, seed=1)
    reference = tr.torch_trajectory(net, X, y, name, 200, sample_weight=sw, **kwargs)
    opt = bpnet.make_optimizer(name, net.params, **kwargs)
    start = {k: v.copy() for k, v in net.params.items()}
    for step, ref in enumerate(reference):
        opt.step(net.loss_and_grads(X, y, sample_weight=sw)[1])
        for k in ref:
            np.testing.assert_allclose(net.params[k], ref[k], rtol=0, atol=1e-9,
                                       err_msg=f"{k} after step {step + 1}")
    # the trajectory really moved, so the comparison means something
    assert max(np.abs(net.params[k] - start[k]).max() for k in start) > 1e-2


def test_sgd_by_hand():
    p = {"w": np.array([1.0, -2.0])}
    opt = bpnet.SGD(p, lr=0.5, momentum=0.5)
    opt.step({"w": np.array([1.0, 1.0])})   # buf = g
    np.testing.assert_allclose(p["w"], [0.5, -2.5])
    opt.step({"w": np.array([1.0, 1.0])})   # buf = 0.5 * 1 + 1 = 1.5
    np.testing.assert_allclose(p["w"], [-0.25, -3.25])


def test_adam_first_step_is_lr_times_sign():
    # with bias correction, step 1 moves every parameter by lr * g / (|g| + eps')
    p = {"w": np.array([0.0, 0.0, 0.0])}
    bpnet.Adam(p, lr=0.1).step({"w": np.array([3.0, -0.2, 1e-3])})
    np.testing.assert_allclose(p["w"], [-0.1, 0.1, -0.1], rtol=1e-4)


def test_updates_in_place_and_state_shapes():
    net = bpnet.BPNetwork(3, 4, 2, n_models=2)
    W1 = net.params["W1"]
    opt = bpnet.Adam(net.params)
    opt.step(net.loss_and_grads(np.ones((2, 3)), [0, 1])[1])
    assert net.params["W1"] is W1  # same array, updated in place
    assert opt.state_arrays("W1")["exp_avg"].shape == W1.shape
    assert opt.state["b2"]["step"] == 1


@pytest.mark.parametrize("make,match", [
    (lambda p: bpnet.SGD(p, lr=0), "lr"),
    (lambda p: bpnet.SGD(p, momentum=-1), "momentum"),
    (lambda p: bpnet.SGD(p, nesterov=True), "nesterov"),
    (lambda p: bpnet.Adam(p, betas=(1.0, 0.9)), "betas"),
    (lambda p: bpnet.Adam(p, weight_decay=-1), "weight_decay"),
    (lambda p: bpnet.make_optimizer("rmsprop", p), "unknown optimizer"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make({"w": np.zeros(2)})


def test_step_checks_grads():
    opt = bpnet.SGD({"w": np.zeros(2)})
    with pytest.raises(ValueError, match="lacks"):
        opt.step({})
    with pytest.raises(ValueError, match="shape"):
        opt.step({"w": np.zeros(3)})


@pytest.mark.parametrize("n_models", [None, 3])
@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_flat_params_follow_the_same_trajectory_bit_for_bit(name, kwargs, n_models):
    """All parameters stepped as one array: the same numbers as one update per parameter,
    with per-model hyper-parameters and idle models too."""
    from bpnet.optim import FlatParams

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    nets = [bpnet.BPNetwork(4, 6, 3, hidden="tanh", output="softmax", loss="cross_entropy",
                            n_models=n_models, seed=1) for _ in range(2)]
    kw = dict(kwargs)
    if n_models:
        kw["lr"] = kw["lr"] * np.array([1.0, 0.5, 2.0])
    plain = bpnet.optim.make_optimizer(name, nets[0].params, **kw)
    flat = FlatParams(name, nets[1].params, stacked=n_models is not None, **kw)
    assert len({id(p.base) for p in nets[1].params.values()}) == 1  # views of one array
    for step in range(30):
        active = None if not n_models or step % 3 else np.array([True, False, step % 2 == 0])
        for net, opt in zip(nets, (plain, flat)):
            grads = net.loss_and_grads(X, y)[1]
            opt.step(grads) if active is None else opt.step(grads, active=active)
    for key, p in nets[0].params.items():
        np.testing.assert_array_equal(nets[1].params[key], p)
        state = flat.state_arrays(key)  # in the parameter's shape, as a pruner reads it
        assert state.keys() == plain.state_arrays(key).keys()
        for k, arr in plain.state_arrays(key).items():
            np.testing.assert_array_equal(state[k], arr, err_msg=f"{key} {k}")
            state[k][..., 0] = 0.0  # a pruner zeroing a unit's state reaches the one array
            assert np.all(flat.state_arrays(key)[k][..., 0] == 0.0)
    bad = {k: np.zeros_like(v) for k, v in nets[1].params.items()}
    bad["b2"][..., 1] = np.nan
    with pytest.raises(bpnet.TrainingError, match="gradient of b2 is nan"):
        flat.step(bad)
