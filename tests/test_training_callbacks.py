"""train() with callbacks and step rules gives today's loop's results bit for bit (float64).

The oracle is tests/legacy_training.py, a frozen copy of the loop with 14 keyword
arguments that the callbacks replaced. Every case trains two identical networks, one with
each loop, and compares the parameters, the optimiser state, the curves and the early
stopping record exactly.
"""
import numpy as np
import pytest
from legacy_training import legacy_train

import bpnet
from bpnet.training import (
    Curves,
    EarlyStopping,
    OnEpoch,
    Progress,
    Rows,
    make_steps,
    train,
)


def _problem(K, seed=0, n=48, d=4, C=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    X = rng.normal(size=(n, d)) + y[:, None]
    sw = None if K is None else (rng.random((K, n)) < 0.7).astype(float)
    val = None if K is None else (1 - sw) * (rng.random((K, n)) < 0.8)
    return X, y, sw, val


CASES = {
    "full batch": {},
    "mini-batches": {"batch_size": 10},
    "input noise": {"input_noise": 0.4},
    "noisy mini-batches": {"batch_size": 10, "input_noise": 0.4},
    "early stopping": {"early_stopping": EarlyStopping("val", "loss", patience=3, tol=0.0)},
    "best epoch": {"early_stopping": EarlyStopping("val", "accuracy", patience=None, tol=0.0)},
    "inactive model": {"active": [True, False, True]},
    "no curves": {"curves": False},
    "no curves, noise": {"curves": False, "input_noise": 0.2, "active": [False, True, True]},
    "class weights": {"class_weight": True, "batch_size": 16},
}


def _stack_only(kw: dict) -> bool:
    return "active" in kw or "early_stopping" in kw  # masks and validation rows of a stack


@pytest.mark.parametrize("case, K", [(c, K) for c in CASES for K in (None, 3)
                                     if K is not None or not _stack_only(CASES[c])])
def test_callbacks_reproduce_the_old_loop_bit_for_bit(case, K):
    kw = dict(CASES[case])
    X, y, sw, val = _problem(K)
    cw = None
    if kw.pop("class_weight", False):
        cw = np.array([0.5, 2.0, 1.3]) if K is None else np.random.default_rng(1).uniform(
            0.5, 2, (K, 3))
    nets = [bpnet.BPNetwork(4, 6, 3, hidden="tanh", output="softmax", loss="cross_entropy",
                            class_weight=cw, seed=2, n_models=K) for _ in range(2)]
    opts = [bpnet.Adam(net.params, lr=0.05) for net in nets]
    monitor = None if val is None else {"val": val}
    rule = kw.pop("early_stopping", None)
    curves = kw.pop("curves", True)
    lines = [], []
    epochs = 25

    monitor = monitor if curves else None
    old = legacy_train(nets[0], X, y, opts[0], epochs, sample_weight=sw, monitor=monitor,
                       rng=np.random.default_rng(5), early_stopping=rule, curves=curves,
                       on_epoch=(lambda e, v: lines[0].append((e, v))) if curves else None,
                       **kw)
    callbacks = [Curves(), OnEpoch(lambda e, v: lines[1].append((e, v)))] if curves else []
    if rule is not None:
        callbacks.append(EarlyStopping(rule.monitor, rule.metric, rule.patience, rule.tol))
    new = train(nets[1], Rows(X, y, sw, monitor), opts[1], epochs,
                callbacks, steps=make_steps(kw.get("batch_size"), kw.get("input_noise", 0.0)),
                rng=np.random.default_rng(5), active=kw.get("active"))

    for name, p in nets[0].params.items():
        np.testing.assert_array_equal(nets[1].params[name], p, err_msg=name)
        for key, value in opts[0].state[name].items():
            np.testing.assert_array_equal(opts[1].state[name][key], value, err_msg=key)
    assert new.epochs_run == old.epochs_run
    assert new.curves.keys() == old.curves.keys()
    for name, c in old.curves.items():
        np.testing.assert_array_equal(new.curves[name], c, err_msg=name)
    np.testing.assert_array_equal(new.best_epoch, old.best_epoch)
    np.testing.assert_array_equal(new.stopped_epoch, old.stopped_epoch)
    assert len(lines[0]) == len(lines[1]) == (old.epochs_run if curves else 0)
    for (e0, v0), (e1, v1) in zip(*lines):
        assert e0 == e1 and v0.keys() == v1.keys()
        for name in v0:
            np.testing.assert_array_equal(v1[name], v0[name])


def test_progress_shows_a_bar_and_closes_it_when_training_fails(capsys):
    X, y, _, _ = _problem(None)
    net = bpnet.BPNetwork(4, 5, 3, hidden="relu", output="identity", seed=0)
    bar = Progress("a bar")
    with pytest.raises(bpnet.TrainingError):
        train(net, (X * 1e3, y), bpnet.SGD(net.params, lr=1e6), 20, [Curves(), bar])
    assert bar.bar is None  # closed
    assert "a bar" in capsys.readouterr().err


def test_a_user_callback_sees_every_epoch_and_can_stop_a_model():
    class StopModelOne(bpnet.callbacks.Callback):
        seen: list = []

        def on_epoch_end(self, run, epoch, values):
            self.seen.append((epoch, values["train_loss"].shape))
            if epoch == 2:
                run.running = run.running & np.array([True, False])

    X, y, sw, _ = _problem(2)
    net = bpnet.BPNetwork(4, 5, 3, seed=0, n_models=2)
    hook = StopModelOne()
    log = train(net, (X, y, sw), bpnet.Adam(net.params, lr=0.05), 4, [Curves(), hook])
    assert hook.seen == [(e, (2,)) for e in range(1, 5)]
    loss = log.curves["train_loss"]
    assert np.all(loss[2:, 1] == loss[1, 1]) and loss[3, 0] != loss[1, 0]
