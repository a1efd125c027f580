"""The contenders of issue 23 (bp-tuned, bp-descriptors, linear-descriptors, cnn-small,
googlenet, resnet18-reg) on the synthetic faces, and the pieces they are built from."""
from __future__ import annotations

import numpy as np
import pytest

from bpnet.gradcheck import gradcheck_function
from bpnet.linear import SoftmaxRegression, softmax_loss, softmax_loss_grad
from bpnet.splits import make_splits

NEW = ("bp-tuned", "bp-descriptors", "linear-descriptors", "cnn-small", "googlenet",
       "resnet18-reg")


# ------------------------------------------------------------------ softmax regression

def test_softmax_loss_gradient_matches_central_differences():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(9, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    y, s = rng.integers(0, 3, 9), rng.uniform(0.5, 2.0, 9)
    report = gradcheck_function(
        lambda W, b: softmax_loss(W, b, X, y, s, 0.3),
        lambda g, W, b: tuple(g * d for d in softmax_loss_grad(W, b, X, y, s, 0.3)), W, b)
    assert report.passed(), report


@pytest.mark.parametrize("n, d", [(40, 5), (12, 60)])  # fewer and more features than rows
def test_softmax_regression_reaches_the_optimum_of_the_full_problem(n, d):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(n, d)), np.arange(n) % 3
    model = SoftmaxRegression(alpha=0.1, max_iter=2000, tol=1e-10).fit(X, y)
    dW, db = softmax_loss_grad(model.coef_, model.intercept_, X, y, np.ones(n), 0.1)
    assert model.coef_.shape == (d, 3)
    assert np.abs(dW).max() < 1e-4 and np.abs(db).max() < 1e-4  # L-BFGS stops near it
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_softmax_regression_learns_separable_classes():
    rng = np.random.default_rng(2)
    y = np.arange(90) % 3
    X = rng.normal(size=(90, 4)) + 4.0 * np.eye(3, 4)[y]
    assert np.mean(SoftmaxRegression(alpha=1e-3).fit(X, y).predict(X) == y) > 0.95


# ------------------------------------------------------------------ the arch setting

def test_train_config_arch_is_optional_and_checked():
    torch = pytest.importorskip("torch")
    from resnet_fer.cnn import SmallCNN, build_network
    from resnet_fer.config import TrainConfig

    old = TrainConfig().to_dict()
    del old["arch"], old["blocks"]  # a config written before the field existed
    assert TrainConfig.from_dict(old).arch == "resnet18"
    with pytest.raises(ValueError, match="arch"):
        TrainConfig(arch="vgg")
    net = build_network(TrainConfig(arch="cnn-small", width=4, blocks=3), 7)
    assert isinstance(net, SmallCNN) and net(torch.zeros(2, 3, 48, 48)).shape == (2, 7)


# ------------------------------------------------------------------ the registry and the folds

@pytest.fixture(scope="module")
def faces():
    pytest.importorskip("torch")
    from resnet_fer.data import synthetic_images

    return synthetic_images(n_per_class=10, size=64, seed=0)


def _fold(faces, kind: str, y=None):
    from resnet_fer.contenders import Fold

    y0 = np.asarray(faces.y)
    groups = np.asarray(faces.groups)
    tr, te = make_splits(kind, y0, groups, 5, 0)[0]
    X = np.random.default_rng(0).normal(size=(len(y0), 10)) + 0.5 * y0[:, None]
    return Fold(np.asarray(tr), np.asarray(te), y0 if y is None else y, groups,
                tuple(faces.class_names), X=X, images=faces.images.numpy(), seed=3)


def test_the_new_contenders_are_registered_with_recipes(faces):
    from resnet_fer.contenders import available, registry

    reg = registry()
    for name in NEW:
        c = reg[name]
        assert c.cpu_recipe and c.gpu_recipe and c.quick_recipe
    cpu = {c.name for c in available("cpu")}
    assert "googlenet" not in cpu and "googlenet" in {c.name for c in available("cuda")}
    # the slow ones run on a CPU only when named, so the default run stays within minutes
    assert cpu == {"bp-paper", "resnet18", "bp-tuned", "linear-descriptors"}
    assert set(NEW) <= {c.name for c in available("cuda")}


def test_inner_splits_use_training_rows_only_and_follow_the_outer_kind(faces):
    from resnet_fer.contenders._folds import inner_kind, inner_splits

    for kind in ("stratified", "group"):
        fold = _fold(faces, kind)
        assert inner_kind(fold) == kind
        for a, b in inner_splits(fold, 3):
            assert np.isin(a, fold.train).all() and np.isin(b, fold.train).all()
            if kind == "group":
                assert not np.intersect1d(fold.groups[a], fold.groups[b]).size


@pytest.mark.parametrize("name", NEW)
def test_contender_fits_a_fold_and_ignores_the_test_labels(faces, name):
    """Nothing fitted (normaliser, PCA, class weights, inner selection) sees a test row: new
    labels for the test rows leave every predicted probability where it was."""
    from resnet_fer.contenders import get

    contender = get(name)
    recipe = contender.recipe("cpu", quick=True)
    fold = _fold(faces, "group")
    fit = contender.fit_fold(fold, recipe)
    n_test = len(fold.test)
    assert fit.result.scores.shape == (n_test, 7)
    assert np.allclose(fit.result.scores.sum(axis=1), 1.0, atol=1e-5)
    assert fit.n_params > 0 and fit.fit_seconds >= 0 and fit.predict_ms_per_image > 0
    y = fold.y.copy()
    y[fold.test] = (y[fold.test] + 1) % 7
    again = contender.fit_fold(_fold(faces, "group", y=y), recipe)
    np.testing.assert_allclose(again.result.scores, fit.result.scores, atol=1e-6)
    assert np.array_equal(again.result.y_pred, fit.result.y_pred)
    assert again.info == fit.info


def test_linear_descriptors_beats_chance_on_the_synthetic_faces(faces):
    from resnet_fer.contenders import get

    contender = get("linear-descriptors")
    fit = contender.fit_fold(_fold(faces, "stratified"), contender.recipe("cpu", quick=True))
    assert fit.result.test_accuracy > 0.4  # chance: 1/7
