"""BPClassifier: scikit-learn conventions, history, persistence and clear errors."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import bpnet
from bpnet.training import Curves, OnEpoch, Rows


def blobs(n_per_class=30, n_classes=3, n_features=4, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, n_features))
    X = np.concatenate([c + spread * rng.normal(size=(n_per_class, n_features)) for c in centres])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


def test_learns_separable_blobs_and_records_history():
    X, y = blobs()
    Xv, yv = blobs(seed=0, n_per_class=10)  # same centres (same seed), fresh noise is not needed
    clf = bpnet.BPClassifier(8, epochs=150, lr=0.05, random_state=0)
    assert clf.fit(X, y, validation_data=(Xv, yv)) is clf
    assert clf.score(X, y) > 0.95
    h = clf.history_
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 150 for v in h.values())
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.coefs_[0].shape == (4, 8) and clf.intercepts_[1].shape == (3,)
    assert clf.n_features_in_ == 4


def test_string_labels_and_minibatches():
    X, y = blobs()
    names = np.array(["angry", "happy", "sad"])[y]
    clf = bpnet.BPClassifier(8, output="softmax", loss="cross_entropy", epochs=30,
                             batch_size=16, random_state=1).fit(X, names)
    assert list(clf.classes_) == ["angry", "happy", "sad"]
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.9
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.fit(X, names, validation_data=(X[:2], ["angry", "bored"]))


def test_same_seed_same_model():
    X, y = blobs()
    a = bpnet.BPClassifier(5, epochs=20, batch_size=10, random_state=3).fit(X, y)
    b = bpnet.BPClassifier(5, epochs=20, batch_size=10, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_get_set_params_and_clone_protocol():
    clf = bpnet.BPClassifier(12, lr=0.1)
    params = clf.get_params()
    assert params["n_hidden"] == 12 and params["lr"] == 0.1
    again = bpnet.BPClassifier(**params)
    assert again.get_params() == params
    assert clf.set_params(epochs=5) is clf and clf.epochs == 5
    with pytest.raises(ValueError, match="invalid parameter"):
        clf.set_params(hidden_units=3)
    assert "n_hidden=12" in repr(clf)
    assert not hasattr(clf, "net_")  # __init__ stores arguments only


def test_inside_sklearn_cross_val_score():
    model_selection = pytest.importorskip("sklearn.model_selection")
    from sklearn.base import clone

    X, y = blobs()
    clf = bpnet.BPClassifier(8, epochs=80, lr=0.05, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    scores = model_selection.cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.9


def test_class_weight_balanced():
    X, y = blobs(n_per_class=20)
    keep = np.r_[np.arange(20), np.arange(20, 25), np.arange(40, 60)]  # class 1 is rare
    clf = bpnet.BPClassifier(6, output="softmax", loss="cross_entropy", class_weight="balanced",
                             epochs=10).fit(X[keep], y[keep])
    np.testing.assert_allclose(clf.net_.class_weight, [45 / 60, 45 / 15, 45 / 60])


def test_class_weight_with_mse_multiplies_the_sample_weights():
    X, y = blobs(n_per_class=10)
    names = np.array(["angry", "happy", "sad"])[y]
    weighted = bpnet.BPClassifier(4, epochs=15, random_state=0,
                                  class_weight={"happy": 3.0}).fit(X, names)
    assert weighted.net_.class_weight is None  # MSE: the weights ride on the samples
    sw = np.where(names == "happy", 3.0, 1.0)
    plain = bpnet.BPClassifier(4, epochs=15, random_state=0).fit(X, names, sample_weight=sw)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(a, b)
    balanced = bpnet.BPClassifier(4, epochs=2, class_weight="balanced").fit(X, names)
    assert balanced.n_iter_ == 2


@pytest.mark.parametrize("class_weight,match", [
    ({"hapy": 2.0}, "not classes"),  # a misspelt label, while a class has no weight
    ([1.0, 2.0], "one weight per class"),
    ({"angry": -1.0, "happy": 1, "sad": 1}, "non-negative"),
    ("auto", "'balanced'"),
])
def test_bad_class_weights_are_named(class_weight, match):
    X, y = blobs(n_per_class=5)
    names = np.array(["angry", "happy", "sad"])[y]
    with pytest.raises(ValueError, match=match):
        bpnet.BPClassifier(epochs=1, class_weight=class_weight).fit(X, names)


def test_save_load_round_trip(tmp_path):
    X, y = blobs()
    clf = bpnet.BPClassifier(7, epochs=30, random_state=0).fit(X, y, validation_data=(X, y))
    path = clf.save(tmp_path / "model.npz")
    back = bpnet.load(path)
    assert isinstance(back, bpnet.BPClassifier)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.history_ == clf.history_ and back.get_params() == clf.get_params()
    assert bpnet.BPClassifier.load(path).score(X, y) == clf.score(X, y)


def test_network_save_load_keeps_stack_and_mask(tmp_path):
    net = bpnet.BPNetwork(3, 4, 2, n_models=2, hidden="tanh", seed=5)
    net.unit_mask = np.array([[1.0, 0, 1, 1], [1, 1, 1, 1]])
    path = bpnet.save(net, tmp_path / "net")  # suffix added
    assert path.suffix == ".npz"
    back = bpnet.load(path, expect=bpnet.BPNetwork)
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert back.config() == net.config()
    with pytest.raises(ValueError, match="not a BPClassifier"):
        bpnet.BPClassifier.load(path)


def test_truncated_and_foreign_files_raise_clearly(tmp_path):
    clf = bpnet.BPClassifier(3, epochs=2).fit(*blobs())
    path = clf.save(tmp_path / "m.npz")
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or foreign"):
        bpnet.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a bpnet model file"):
        bpnet.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="bpnet model file"):
        bpnet.load(tmp_path / "text.npz")
    np.save(tmp_path / "plain.npy", np.ones(3))
    with pytest.raises(ValueError, match="bpnet model file"):
        bpnet.load(tmp_path / "plain.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))  # a pickled array
    with pytest.raises(ValueError):
        bpnet.load(tmp_path / "obj.npy")


@pytest.mark.parametrize("X,y,match", [
    (np.ones((0, 3)), np.array([]), r"0 sample\(s\)"),
    (np.ones((4, 0)), np.array([0, 1, 0, 1]), r"0 feature\(s\)"),
    (np.ones((4, 3)), np.array([0, 1, 0]), "4 samples but y has 3"),
    (np.ones((3, 3)), np.array([1, 1, 1]), "two classes to fit, got 1 class"),
    (np.array([[np.nan, 1.0], [1.0, 1.0]]), np.array([0, 1]), "NaN"),
    (np.ones(4), np.array([0, 1, 0, 1]), "Reshape your data"),
    (np.ones((4, 2)) + 1j, np.array([0, 1, 0, 1]), "Complex data not supported"),
    (np.array([["a", "b"], ["c", "d"]]), np.array([0, 1]), "must be numeric"),
    (np.ones((4, 2)), np.array([0.5, 1, 0, 1]), "continuous"),
    (np.ones((4, 2)), None, "requires y to be passed"),
    (np.ones((4, 2)), np.ones((4, 2)), "one class label per sample"),
])
def test_fit_rejects_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        bpnet.BPClassifier(epochs=1).fit(X, y)


def test_predict_checks_features_and_fitted_state():
    clf = bpnet.BPClassifier(3, epochs=2)
    with pytest.raises(ValueError, match="not fitted"):
        clf.predict(np.ones((1, 4)))
    clf.fit(*blobs())
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match="X has 5 features, but BPClassifier is expecting 4"):
            method(np.ones((2, 5)))


def test_non_finite_loss_stops_and_names_the_epoch():
    X, y = blobs()
    clf = bpnet.BPClassifier(4, hidden="relu", output="identity", optimizer="sgd", lr=1e3,
                             momentum=0.0, epochs=200, random_state=0)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(bpnet.TrainingError, match=r"at epoch \d+"):
            clf.fit(X * 100, y)


# --- what MLPClassifier users reach for ------------------------------------------------
def _same_weights(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_partial_fit_epochs_equal_one_fit(optimizer):
    """One epoch per call with the optimiser state kept: three calls are a 3-epoch fit."""
    X, y = blobs()
    kw = dict(n_hidden=5, optimizer=optimizer, lr=0.05, random_state=4)
    fitted = bpnet.BPClassifier(epochs=3, **kw).fit(X, y)
    stepwise = bpnet.BPClassifier(**kw)
    for _ in range(3):
        assert stepwise.partial_fit(X, y, classes=[0, 1, 2]) is stepwise
    _same_weights(stepwise, fitted)
    assert stepwise.n_iter_ == 1 and stepwise.loss_curve_ == fitted.loss_curve_
    assert stepwise.history_ == fitted.history_


def test_partial_fit_checks_classes_features_and_settings():
    X, y = blobs()
    clf = bpnet.BPClassifier(4, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=np.array([2, 0, 1]))  # not every class yet
    assert clf.classes_.tolist() == [0, 1, 2] and clf.net_.n_outputs == 3
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="differs from the classes"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but BPClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="early_stopping=True is for fit only"):
        bpnet.BPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="needs all labels at once"):
        bpnet.BPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    assert len(clf.loss_curve_) == 1


@pytest.mark.parametrize("batch_size", [None, 16])
def test_warm_start_continues_where_fit_stopped(batch_size):
    X, y = blobs()
    kw = dict(n_hidden=5, lr=0.05, random_state=2, batch_size=batch_size)
    once = bpnet.BPClassifier(epochs=20, **kw).fit(X, y)
    warm = bpnet.BPClassifier(epochs=10, warm_start=True, **kw).fit(X, y).fit(X, y)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 20
    if batch_size is None:  # full batch: no randomness after the initialisation
        _same_weights(warm, once)
        assert warm.loss_curve_ == once.loss_curve_
    cold = bpnet.BPClassifier(epochs=10, **kw).fit(X, y).fit(X, y)
    assert len(cold.loss_curve_) == 10  # without warm_start every fit starts afresh
    warm.set_params(n_hidden=6)
    with pytest.raises(ValueError, match=r"n_hidden \(5 -> 6\) changed"):
        warm.fit(X, y)


def test_early_stopping_stops_and_keeps_the_best_epoch():
    X, y = blobs(n_per_class=40, spread=1.6, seed=3)  # overlapping classes: it plateaus
    kw = dict(n_hidden=8, lr=0.05, early_stopping=True, validation_fraction=0.25,
              random_state=1)
    clf = bpnet.BPClassifier(epochs=500, n_iter_no_change=5, **kw).fit(X, y)
    scores = clf.validation_scores_
    assert clf.n_iter_ < 500 and len(scores) == len(clf.loss_curve_) == clf.n_iter_
    best = int(np.argmax(scores)) + 1
    assert clf.n_iter_ - best == 5  # stopped after 5 epochs without a gain
    assert clf.best_validation_score_ == max(scores)
    held = np.asarray(scores) * 30  # accuracy on the 30 held-out rows (a quarter of 120)
    np.testing.assert_allclose(held, np.round(held), atol=1e-9)
    # the weights are those after the best epoch: a run that ends there has the same
    short = bpnet.BPClassifier(epochs=best, n_iter_no_change=10_000, **kw).fit(X, y)
    _same_weights(clf, short)
    plain = bpnet.BPClassifier(epochs=5, random_state=1).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None


@pytest.mark.parametrize("settings,match", [
    (dict(validation_fraction=1.0), "validation_fraction must be a number in"),
    (dict(validation_fraction=0.01), "holds out 1"),
    (dict(n_iter_no_change=0), "n_iter_no_change must be a positive integer"),
    (dict(tol=-1.0), "tol must be non-negative"),
])
def test_bad_early_stopping_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        bpnet.BPClassifier(early_stopping=True, **settings).fit(*blobs(n_per_class=10))


def test_verbose_prints_progress(capsys):
    X, y = blobs(n_per_class=10)
    bpnet.BPClassifier(3, epochs=4, verbose=2, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(",")[0] for ln in lines[:4]] == [f"Epoch {e}" for e in range(1, 5)]
    assert "loss = " in lines[0] and lines[4].startswith("BPClassifier: 4 epochs, training loss")
    bpnet.BPClassifier(3, epochs=30, verbose=1, early_stopping=True, n_iter_no_change=2,
                       validation_fraction=0.3, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "kept epoch" in out.out  # a bar on stderr, one line
    clf = bpnet.BPClassifier(3, verbose=1).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert capsys.readouterr().out.startswith("Epoch 1, loss = ")  # one line per call
    bpnet.BPClassifier(3, epochs=3).fit(X, y)
    assert capsys.readouterr().out == ""


# --- errors in our words, and scikit-learn's classes without scikit-learn ---------------
def test_errors_and_warnings_need_no_scikit_learn():
    code = """
import sys, warnings, numpy as np, bpnet
from bpnet.input_checks import DataConversionWarning, NotFittedError
try:
    bpnet.BPClassifier().predict(np.ones((1, 2)))
except NotFittedError as e:
    print(type(e) is NotFittedError, isinstance(e, ValueError), isinstance(e, AttributeError))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    bpnet.BPClassifier(epochs=1).fit(np.eye(4), np.array([[0], [1], [0], [1]]))
print(w[0].category is DataConversionWarning, "sklearn" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["True"] * 4 + ["False"]


def test_not_fitted_error_pickles():
    from bpnet.input_checks import NotFittedError

    with pytest.raises(NotFittedError) as info:
        bpnet.BPClassifier().decision_function(np.ones((1, 2)))
    # scikit-learn's joblib workers send exceptions back pickled: this round trip of bytes the
    # test itself just made checks that ours survive it (no file or data is unpickled)
    back = pickle.loads(pickle.dumps(info.value))
    assert isinstance(back, NotFittedError) and back.args == info.value.args


def test_sparse_input_is_refused_in_words():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = blobs()
    with pytest.raises(TypeError, match="sparse matrix .*X.toarray"):
        bpnet.BPClassifier(epochs=1).fit(sparse.csr_matrix(X), y)


def test_score_takes_sample_weight():
    X, y = blobs()
    clf = bpnet.BPClassifier(4, epochs=5, random_state=0).fit(X, y)
    hits = clf.predict(X) == y
    w = np.linspace(0.1, 1, len(y))
    assert clf.score(X, y, sample_weight=w) == pytest.approx(np.sum(w * hits) / w.sum())


def test_save_load_keeps_the_new_state(tmp_path):
    X, y = blobs()
    names = np.array(["angry", "happy", "sad"])[y]
    clf = bpnet.BPClassifier(5, epochs=30, early_stopping=True, random_state=0,
                             class_weight={"happy": 2.0}).fit(X, names)
    clf.set_params(early_stopping=False, warm_start=True).fit(X, names)
    assert np.isnan(clf.history_["holdout_accuracy"][-1])  # no held-out rows in the last fit
    back = bpnet.load(clf.save(tmp_path / "m.npz"))
    assert back.get_params() == clf.get_params()  # the dict keeps its (string) labels
    assert back.n_iter_ == clf.n_iter_ and back.best_validation_score_ is None
    np.testing.assert_equal(back.history_, clf.history_)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    back.partial_fit(X, names)  # continues, with a new optimiser
    assert len(back.loss_curve_) == len(clf.loss_curve_) + 1
    int_keys = bpnet.BPClassifier(3, epochs=2, class_weight={np.int64(1): 2.0}).fit(X, y)
    assert bpnet.load(int_keys.save(tmp_path / "k.npz")).class_weight == {1: 2.0}


def test_every_argument_is_a_training_or_a_fit_setting():
    from bpnet.estimator import FIT_PARAMS, TRAINING_PARAMS

    names = set(bpnet.BPClassifier().get_params())
    assert names == set(TRAINING_PARAMS) | set(FIT_PARAMS) | {"random_state", "verbose"}
    assert not set(TRAINING_PARAMS) & set(FIT_PARAMS)
    X, y = blobs(n_per_class=5)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['early_stopping'\]"):
        bpnet.cross_validate(X, y, [(np.arange(10), np.arange(10, 15))], early_stopping=True)


def test_validation_data_is_measured_not_trained_on():
    X, y = blobs(n_per_class=20)
    kw = dict(n_hidden=5, epochs=20, lr=0.05, early_stopping=True, random_state=0)
    alone = bpnet.BPClassifier(**kw).fit(X, y)
    watched = bpnet.BPClassifier(**kw).fit(X, y, validation_data=(X[::2] + 0.1, y[::2]))
    assert set(watched.history_) == {"loss", "accuracy", "val_loss", "val_accuracy",
                                     "holdout_loss", "holdout_accuracy"}
    for a, b in zip(alone.coefs_ + alone.intercepts_, watched.coefs_ + watched.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert watched.validation_scores_ == pytest.approx(alone.validation_scores_)


def test_files_saved_before_these_arguments_still_load(tmp_path):
    from bpnet import io

    X, y = blobs()
    path = bpnet.BPClassifier(4, epochs=3, random_state=0).fit(X, y).save(tmp_path / "m.npz")
    meta, arrays = io.load_arrays(path)
    for key in ("early_stopping", "validation_fraction", "n_iter_no_change", "tol", "warm_start"):
        del meta["params"][key]
    del meta["n_iter"], meta["best_validation_score"]
    kind = meta.pop("kind")
    old = io.save_arrays(tmp_path / "old.npz", kind, {k: v for k, v in meta.items()
                                                      if k not in ("format", "version")}, arrays)
    back = bpnet.load(old)
    assert back.n_iter_ == 3 and back.best_validation_score_ is None and not back.early_stopping
    np.testing.assert_array_equal(back.predict(X), bpnet.load(path).predict(X))


def test_tol_is_the_gain_that_counts():
    """No accuracy gain exceeds tol=1: the first epoch stays best and the fit stops
    n_iter_no_change epochs later."""
    X, y = blobs(n_per_class=20)
    clf = bpnet.BPClassifier(4, epochs=100, early_stopping=True, tol=1.0, n_iter_no_change=3,
                             random_state=0).fit(X, y)
    assert clf.n_iter_ == 4 and clf.best_validation_score_ == clf.validation_scores_[0]


def test_train_reports_every_epoch_to_on_epoch():
    X, y = blobs(n_per_class=10)
    net = bpnet.BPNetwork(4, 3, 3, seed=0)
    seen = []
    hook = OnEpoch(lambda epoch, values: seen.append((epoch, values)))
    log = bpnet.train(net, Rows(X, y, monitor={"odd": y % 2}), bpnet.Adam(net.params, lr=0.05),
                      3, [Curves(), hook])
    assert [e for e, _ in seen] == [1, 2, 3]
    for e, values in seen:
        assert values == {k: v[e - 1] for k, v in log.curves.items()}
