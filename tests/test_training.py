"""The training core: the fused pass equals the reference backprop, and the one loop behaves."""
import itertools

import numpy as np
import pytest

import bpnet
from bpnet.cross_validation import cross_validate
from bpnet.fused import FusedPass
from bpnet.splits import stratified_kfold
from bpnet.training import (
    Curves,
    EarlyStopping,
    MiniBatch,
    Rows,
    TrainingError,
    evaluate,
    make_steps,
    predict_outputs,
    train,
)

OUTPUT_LOSS = [("sigmoid", "mse"), ("softmax", "mse"), ("identity", "mse"),
               ("softmax", "cross_entropy"), ("sigmoid", "cross_entropy")]


def _case(hidden, output, loss, n_models, masked, class_weighted, seed=1):
    rng = np.random.default_rng(seed)
    n, d, H, C = 23, 4, 6, 3
    cw = rng.uniform(0.5, 2, C) if class_weighted else None
    if class_weighted == "per model":  # a stack's own weights per model (per-fold weights)
        cw = rng.uniform(0.5, 2, (n_models, C))
    net = bpnet.BPNetwork(d, H, C, hidden=hidden, output=output, loss=loss, seed=2,
                          n_models=n_models, class_weight=cw)
    for k in net.params:
        net.params[k] *= 3  # saturate some units: the stable formulas are exercised too
    if masked:
        mask = (rng.random((H,) if n_models is None else (n_models, H)) < 0.6).astype(float)
        mask[..., 0] = 1
        net.unit_mask = mask
    X = rng.normal(size=(n, d)) if n_models is None else rng.normal(size=(n_models, n, d))
    y = rng.integers(0, C, n)
    sw = None if n_models is None else (rng.random((n_models, n)) < 0.7).astype(float)
    return net, X, y, sw


CASES = [c for c in itertools.product(("sigmoid", "tanh", "relu"), OUTPUT_LOSS, (None, 3),
                                      (False, True), (False, True, "per model"))
         if not (c[4] and c[1][1] != "cross_entropy")
         and not (c[4] == "per model" and c[2] is None)]


@pytest.mark.parametrize("hidden,output_loss,n_models,masked,class_weighted", CASES)
def test_fused_pass_equals_the_reference(hidden, output_loss, n_models, masked, class_weighted):
    output, loss = output_loss
    net, X, y, sw = _case(hidden, output, loss, n_models, masked, class_weighted)
    ref_loss, ref_grads = net.loss_and_grads(X, y, sample_weight=sw)
    fused = FusedPass(net, len(y))
    XaT, T = fused.inputs(X), fused.targets(y)
    K = n_models or 1
    w = bpnet.losses.sample_weights(np.broadcast_to(y, (K, len(y))),
                                    None if sw is None else sw, net.class_weight,
                                    net.loss_fn.class_weighted_mean, (K, len(y)))
    out = fused.forward(XaT).transpose(0, 2, 1)
    np.testing.assert_allclose(out, np.reshape(net.forward(X), out.shape), rtol=0, atol=1e-12)
    value = (w * fused.per_sample_loss(T)).sum(-1)
    np.testing.assert_allclose(value, np.atleast_1d(ref_loss), rtol=1e-12, atol=1e-13)
    grads = fused.backward(XaT, T, w)
    for name, g in ref_grads.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(fused.correct(y), np.atleast_2d(net.predict(X)) == y)


def test_accuracy_follows_argmax_on_exact_ties():
    net = bpnet.BPNetwork(2, 3, 3, output="identity", seed=0)
    net.params["W2"][:] = 0.0
    net.params["b2"][:] = [1.0, 1.0, 0.0]  # classes 0 and 1 tie: argmax says 0
    fused = FusedPass(net, 4)
    X, y = np.zeros((4, 2)), np.array([0, 1, 2, 0])
    XaT = fused.inputs(X)
    fused.forward(XaT)
    np.testing.assert_array_equal(fused.correct(y)[0], [True, False, False, True])


def _blobs(n=60, d=4, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    return rng.normal(size=(n, d)) + y[:, None], y


# one-fold cross-validation equals BPClassifier.fit bit for bit: tests/test_settings.py


def test_curves_are_the_network_after_each_epoch():
    X, y = _blobs()
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    sw = np.ones((2, len(y)))
    sw[0, ::3] = 0
    log = train(net, Rows(X, y, sw, {"held": 1 - sw}), bpnet.Adam(net.params, lr=0.05), 3,
                [Curves()])
    again = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    opt = bpnet.Adam(again.params, lr=0.05)
    for e in range(3):
        opt.step(again.loss_and_grads(X, y, sample_weight=sw)[1])
        loss, acc = evaluate(again, X, y, sw)
        np.testing.assert_allclose(log.curves["train_loss"][e], loss, rtol=1e-12)
        np.testing.assert_allclose(log.curves["train_accuracy"][e], acc)
        held_loss, _ = evaluate(again, X, y, 1 - sw)
        np.testing.assert_allclose(log.curves["held_loss"][e][0], held_loss[0], rtol=1e-12)
        assert np.isnan(log.curves["held_loss"][e][1])  # model 1 holds out no rows


@pytest.mark.parametrize("kw", [{}, {"batch_size": 16}, {"input_noise": 0.3},
                                {"active": np.array([True, False])}])
def test_training_without_curves_gives_the_same_network(kw):
    """Without Curves the loop skips the per-epoch loss and accuracy, nothing else."""
    X, y = _blobs()
    nets = [bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2) for _ in range(2)]
    steps = make_steps(kw.get("batch_size"), kw.get("input_noise", 0.0))
    logs = [train(net, (X, y), bpnet.Adam(net.params, lr=0.05), 4, callbacks, steps=steps,
                  rng=np.random.default_rng(1), active=kw.get("active"))
            for net, callbacks in zip(nets, ([Curves()], []))]
    for name, p in nets[0].params.items():
        np.testing.assert_array_equal(nets[1].params[name], p)
    assert logs[1].curves == {} and logs[1].epochs_run == 4
    assert logs[0].curves["train_loss"].shape == (4, 2)


def test_minibatch_models_skip_steps_when_their_rows_run_out():
    X, y = _blobs(n=40)
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    sw = np.ones((2, 40))
    sw[1, :25] = 0  # model 1 trains on 15 rows: 2 batches of 8 per epoch, model 0 on 5
    opt = bpnet.Adam(net.params, lr=0.01)
    train(net, (X, y, sw), opt, 3, steps=MiniBatch(8), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(opt.state["W1"]["step"], [15, 6])


def test_inactive_models_are_left_exactly_as_they_were():
    X, y = _blobs()
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=3)
    before = {k: v.copy() for k, v in net.params.items()}
    opt = bpnet.Adam(net.params, lr=0.05)
    log = train(net, (X, y), opt, 5, [Curves()], active=np.array([True, False, True]))
    for name, p in net.params.items():
        np.testing.assert_array_equal(p[1], before[name][1])
        assert not np.array_equal(p[0], before[name][0])
    assert np.all(log.curves["train_loss"][:, 1] == log.curves["train_loss"][0, 1])


def test_early_stopping_keeps_each_models_best_epoch():
    X, y = _blobs(n=90, seed=3)
    val = np.zeros(len(y))
    val[::3] = 1
    rule = EarlyStopping("val", metric="loss", patience=4, tol=0.0)
    net = bpnet.BPNetwork(4, 16, 3, seed=1, n_models=2)
    opt = bpnet.Adam(net.params, lr=np.array([0.3, 0.003]))  # one over-fits fast, one crawls
    log = train(net, Rows(X, y, 1 - val, {"val": val}), opt, 60, [Curves(), rule])
    best = log.best_epoch
    assert best.shape == (2,) and np.all(best >= 1)
    for k in range(2):  # the kept parameters are those of the best epoch: replay to it
        replay = bpnet.BPNetwork(4, 16, 3, seed=1, n_models=2)
        opt_k = bpnet.Adam(replay.params, lr=np.array([0.3, 0.003]))
        train(replay, (X, y, 1 - val), opt_k, int(best[k]))
        for name in net.params:
            np.testing.assert_allclose(net.params[name][k], replay.params[name][k], atol=1e-12)
    curve = log.curves["val_loss"]
    for k in range(2):
        assert curve[best[k] - 1, k] == np.nanmin(curve[:, k])
        if log.stopped_epoch[k]:
            assert log.stopped_epoch[k] - best[k] == 4


def test_per_model_learning_rates_equal_separate_runs():
    X, y = _blobs()
    lrs = np.array([0.01, 0.1])
    stack = bpnet.BPNetwork(4, 5, 3, seed=4, n_models=2)
    singles = [stack.select_model(k) for k in range(2)]
    train(stack, (X, y), bpnet.Adam(stack.params, lr=lrs, weight_decay=np.array([0.0, 0.01])), 20)
    for k, net in enumerate(singles):
        train(net, (X, y), bpnet.Adam(net.params, lr=lrs[k], weight_decay=[0.0, 0.01][k]), 20)
        for name, p in net.params.items():
            np.testing.assert_allclose(stack.params[name][k], p, rtol=0, atol=1e-12)


def test_a_diverging_fold_is_named():
    X, y = _blobs()
    net = bpnet.BPNetwork(4, 5, 3, hidden="relu", output="identity", seed=0, n_models=2)
    lr = np.array([1e-3, 1e6])
    with pytest.raises(TrainingError, match=r"at epoch \d+ of 50 in fold\(s\) \[1\]"):
        train(net, (X * 1e3, y), bpnet.SGD(net.params, lr=lr), 50, [Curves()], unit="fold")


def test_bad_arguments_get_clear_errors():
    X, y = _blobs()
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    opt = bpnet.Adam(net.params)
    with pytest.raises(ValueError, match=r"no training rows .* model\(s\) \[1\]"):
        train(net, (X, y, np.r_[np.ones(60), np.zeros(60)].reshape(2, 60)), opt, 1)
    with pytest.raises(ValueError, match="not among the monitored sets"):
        train(net, (X, y), opt, 1, [EarlyStopping("val")])
    with pytest.raises(ValueError, match="batch_size"):
        train(net, (X, y), opt, 1, steps=MiniBatch(0))
    with pytest.raises(TypeError, match=r"pass the rows as Rows\(X, y"):  # the old signature
        train(net, X, y, opt, 1)


def test_float32_training_stays_float32_and_predicts_like_the_reference():
    X, y = _blobs()
    net = bpnet.BPNetwork(4, 8, 3, seed=0, dtype=np.float32)
    train(net, (X, y), bpnet.Adam(net.params, lr=0.05), 20)
    assert all(p.dtype == np.float32 for p in net.params.values())
    out = predict_outputs(net, X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, net.forward(X), atol=1e-6)


def test_stack_of_folds_equals_separate_training_runs():
    X, y = _blobs(n=90)
    splits = stratified_kfold(y, 3, seed=0)
    res = cross_validate(X, y, splits, normalize=False, n_hidden=5, epochs=25, lr=0.05,
                         dtype="float64", random_state=1)
    init = bpnet.BPNetwork(4, 5, 3, seed=1, n_models=3)
    for k, (tr, _) in enumerate(splits):
        net = init.select_model(k)
        opt = bpnet.Adam(net.params, lr=0.05)
        for _ in range(25):
            opt.step(net.loss_and_grads(X[tr], y[tr])[1])
        for name, p in net.params.items():
            np.testing.assert_allclose(res.trained.params[name][k], p, rtol=0, atol=1e-10)
