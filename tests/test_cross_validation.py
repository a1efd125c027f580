"""All folds at once: the stack gives exactly what K separate runs give."""
import numpy as np
import pytest

import bpnet
from bpnet.cross_validation import cross_validate, normalize_per_fold
from bpnet.preprocessing import Normalizer
from bpnet.prune_retrain import PruningHistory
from bpnet.splits import stratified_kfold


def problem(n=90, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    X = rng.normal(size=(n, d)) + y[:, None] * 0.8
    X[:, 0] = np.exp(X[:, 0])  # a skewed column, as in SFEW
    return X, y


def test_stack_equals_separate_runs():
    X, y = problem()
    splits = stratified_kfold(y, 5, seed=1)
    res = cross_validate(X, y, splits, n_hidden=6, epochs=40, lr=0.02, random_state=3,
                         dtype="float64")
    init = bpnet.BPNetwork(5, 6, 3, seed=3, n_models=5)  # the same initial stack
    for k, (tr, te) in enumerate(splits):
        net = init.select_model(k)
        norm = Normalizer().fit(X[tr])
        Xtr, Xte = norm.transform(X[tr]), norm.transform(X[te])
        opt = bpnet.Adam(net.params, lr=0.02)
        for _ in range(40):
            opt.step(net.loss_and_grads(Xtr, y[tr])[1])
        np.testing.assert_allclose(res.trained.select_model(k).forward(Xte), net.forward(Xte),
                                   atol=1e-10)
        np.testing.assert_array_equal(res.y_pred[te], net.predict(Xte))
        assert res.fold_test_accuracy[k] == pytest.approx(np.mean(net.predict(Xte) == y[te]))
    assert res.confusions.shape == (5, 3, 3)
    assert res.confusions.sum() == len(y)  # every sample tested exactly once
    assert res.curves["train_loss"].shape == (40, 5)
    assert res.curves["train_loss"][-1].mean() < res.curves["train_loss"][0].mean()
    assert 0.5 < res.summary()["test_accuracy_mean"] <= 1.0


@pytest.mark.parametrize("output,loss", [("sigmoid", "mse"), ("softmax", "cross_entropy"),
                                         ("identity", "mse")])
def test_fold_scores_are_class_probabilities(output, loss):
    X, y = problem()
    splits = stratified_kfold(y, 3, seed=0)
    res = cross_validate(X, y, splits, n_hidden=4, epochs=30, lr=0.05, output=output, loss=loss,
                         normalize=False, random_state=0, dtype="float64")
    for k, (fold, (_, te)) in enumerate(zip(res.folds, splits)):
        out = res.trained.select_model(k).forward(X[te])  # the raw outputs
        np.testing.assert_allclose(fold.scores.sum(1), 1.0, atol=1e-12)
        assert np.all(fold.scores >= 0)
        np.testing.assert_array_equal(fold.y_pred, fold.scores.argmax(1))
        np.testing.assert_array_equal(fold.y_pred, out.argmax(1))
        if output == "sigmoid":  # each output divided by its row's sum
            np.testing.assert_allclose(fold.scores, out / out.sum(1, keepdims=True), rtol=1e-12)
        elif output == "softmax":  # the outputs are the probabilities
            np.testing.assert_allclose(fold.scores, out, rtol=1e-12)
        else:  # the nearest probability vector to the outputs
            assert not np.allclose(fold.scores, out)


def test_normalisation_uses_only_training_rows():
    X, y = problem()
    splits = stratified_kfold(y, 3, seed=0)
    train_masks = np.zeros((3, len(y)), bool)
    for k, (tr, _) in enumerate(splits):
        train_masks[k, tr] = True
    Xs = normalize_per_fold(X, train_masks)
    for k, (tr, te) in enumerate(splits):
        np.testing.assert_allclose(Xs[k, tr].mean(0), 0, atol=1e-12)
        X_poisoned = X.copy()
        X_poisoned[te] *= 1000  # changing test rows must not change the training transform
        again = normalize_per_fold(X_poisoned, train_masks[k:k + 1])[0]
        np.testing.assert_allclose(again[tr], Xs[k, tr])


def test_pruning_inside_cross_validation():
    X, y = problem()
    res = cross_validate(X, y, stratified_kfold(y, 4, seed=0), n_hidden=12, epochs=60, lr=0.05,
                         prune=True, epochs_per_round=10)
    before = res.extra["before_pruning"]
    n_hidden = np.asarray(res.extra["n_hidden"])
    assert np.all(n_hidden <= before["n_hidden"]) and "pruning" in res.extra
    assert np.all(n_hidden >= 1)
    history = PruningHistory.from_dict(res.extra["pruning"])
    removed = np.bincount([r["model"] for r in history.removed], minlength=4)
    np.testing.assert_array_equal(n_hidden, np.asarray(before["n_hidden"]) - removed)
    assert "test_accuracy_mean_before_pruning" in res.summary()
