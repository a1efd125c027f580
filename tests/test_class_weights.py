"""Class weights: one formula (bpnet.settings.class_weights), fitted on training rows only.

The leakage tests change the labels of a fold's test rows and require the weights that fold
trained to stay bit-identical, for the stacked k-fold, the nested grid search and the ResNet.
"""
import numpy as np
import pytest

import bpnet
from bpnet.cross_validation import cross_validate
from bpnet.model_selection import grid_search_cv
from bpnet.settings import class_weights
from bpnet.splits import stratified_kfold


def problem(n=60, d=5, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2), rng.integers(1, C, n - n // 2)].astype(np.int64)  # imbalanced
    X = rng.normal(size=(n, d)) + y[:, None]
    return X, y


def relabel(y, rows, C):
    """``y`` with ``rows`` given other labels (a different, still valid, test fold)."""
    y = y.copy()
    y[rows] = (y[rows] + 1) % C
    return y


def test_balanced_is_scikit_learns_formula_and_a_missing_class_weighs_one():
    y = np.array([0, 0, 0, 1])
    np.testing.assert_array_equal(class_weights(y, 2, "balanced"), [4 / 6, 4 / 2])
    # class 2 has no training rows: the neutral weight, as for a label a dict leaves out
    np.testing.assert_array_equal(class_weights(y, 3, "balanced"), [4 / 9, 4 / 3, 1.0])
    np.testing.assert_array_equal(class_weights(y, 3, {1: 2.0}), [1.0, 2.0, 1.0])
    assert class_weights(y, 3, None) is None


@pytest.mark.parametrize("mode,match", [("balance", "must be None, 'balanced'"),
                                        ([1.0, 2.0], "one weight per class"),
                                        ([1.0, -1.0, 1.0], "non-negative"),
                                        ({5: 1.0}, "which are not classes")])
def test_bad_modes_are_named(mode, match):
    with pytest.raises(ValueError, match=match):
        class_weights(np.array([0, 1, 2]), 3, mode)


def test_sklearn_agrees_where_every_class_is_present():
    sk = pytest.importorskip("sklearn.utils.class_weight")
    y = np.array([0, 0, 0, 1, 2, 2])
    np.testing.assert_allclose(class_weights(y, 3, "balanced"),
                               sk.compute_class_weight("balanced", classes=np.arange(3), y=y))


@pytest.mark.parametrize("loss,output", [("cross_entropy", "softmax"),
                                         ("cross_entropy", "sigmoid"), ("mse", "sigmoid")])
def test_cross_validate_trains_without_the_test_labels(loss, output):
    X, y = problem()
    splits = stratified_kfold(y, 3, seed=0)
    kw = dict(n_hidden=4, epochs=5, loss=loss, output=output, class_weight="balanced",
              dtype="float64", n_classes=3)
    base = cross_validate(X, y, splits, **kw).trained
    again = cross_validate(X, relabel(y, splits[0][1], 3), splits, **kw).trained
    for name, p in base.params.items():  # fold 0 trained on the same rows and labels
        np.testing.assert_array_equal(again.params[name][0], p[0], err_msg=name)
    assert not np.array_equal(again.params["W1"][1], base.params["W1"][1])  # the change reaches


def test_cross_validate_weighs_each_fold_by_its_own_training_rows():
    X, y = problem()
    splits = stratified_kfold(y, 3, seed=0)
    net = cross_validate(X, y, splits, n_hidden=3, epochs=1, loss="cross_entropy",
                         output="softmax", class_weight="balanced", n_classes=3).trained
    for k, (tr, _) in enumerate(splits):
        np.testing.assert_allclose(net.class_weight[k], class_weights(y[tr], 3, "balanced"),
                                   rtol=1e-6)
        one = net.select_model(k)  # a fold exported alone keeps its own weights
        np.testing.assert_array_equal(one.class_weight, net.class_weight[k])
        np.testing.assert_array_equal(one.loss_value(X, y), net.loss_value(X, y)[k])


def test_grid_search_trains_without_the_outer_test_labels():
    X, y = problem(seed=3)
    splits = stratified_kfold(y, 3, seed=1)
    kw = dict(inner_splits=2, epochs=6, n_hidden=3, loss="cross_entropy", output="softmax",
              class_weight="balanced", dtype="float64", n_classes=3, keep_stacks=True,
              refit=False)
    grid = {"lr": [0.01, 0.05]}
    runs = [grid_search_cv(X, yy, grid, splits, **kw)
            for yy in (y, relabel(y, splits[0][1], 3))]
    per_outer = 2 * 2  # inner folds x settings: the models of outer fold 0 come first
    trained = []
    for res in runs:
        models = {}
        for stack in res.fit.stacks:
            for j, m in enumerate(stack["models"]):
                models[int(m)] = {k: v[j] for k, v in stack["net"].params.items()}
        trained.append(models)
    for m in range(per_outer):
        for name in trained[0][m]:
            np.testing.assert_array_equal(trained[1][m][name], trained[0][m][name])
    assert any(not np.array_equal(trained[1][m]["W1"], trained[0][m]["W1"])
               for m in range(per_outer, len(trained[0])))


def test_estimator_balanced_weights_come_from_the_one_formula():
    X, y = problem()
    clf = bpnet.BPClassifier(3, epochs=1, loss="cross_entropy", output="softmax",
                             class_weight="balanced").fit(X, y)
    np.testing.assert_array_equal(clf.net_.class_weight, class_weights(y, 3, "balanced"))


@pytest.mark.usefixtures("one_torch_thread")
def test_resnet_trains_without_the_test_labels():
    torch = pytest.importorskip("torch")
    from resnet_fer.config import TrainConfig
    from resnet_fer.data import synthetic_images
    from resnet_fer.train import cross_validate as resnet_cv

    data = synthetic_images(n_per_class=3, size=16, seed=0)
    tr, te = stratified_kfold(data.y, n_splits=3, seed=0)[0]
    cfg = TrainConfig(epochs=1, batch_size=8, size=16, width=4, stem="small",
                      class_weights=True, label_smoothing=0.1)
    states = []
    for y in (data.y, relabel(data.y, te, 7)):
        seen = {}

        def keep(info, seen=seen):
            seen.update({k: v.detach().clone() for k, v in info.model.state_dict().items()})

        with torch.random.fork_rng(devices=[]):
            resnet_cv(data.images, y, [(tr, te)], cfg, "cpu", progress=False, callback=keep)
        states.append(seen)
    assert states[0].keys() == states[1].keys()
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k
