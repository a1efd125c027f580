"""BPClassifier: scikit-learn conventions, history, persistence and clear errors."""
import numpy as np
import pytest

import bpnet


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
    with pytest.raises(ValueError, match="only defined"):
        bpnet.BPClassifier(class_weight="balanced").fit(X, y)


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
    (np.ones((0, 3)), np.array([]), "empty"),
    (np.ones((4, 3)), np.array([0, 1, 0]), "4 samples but y has 3"),
    (np.ones((3, 3)), np.array([1, 1, 1]), "two classes"),
    (np.array([[np.nan, 1.0], [1.0, 1.0]]), np.array([0, 1]), "NaN"),
    (np.ones(4), np.array([0, 1, 0, 1]), "shape"),
])
def test_fit_rejects_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        bpnet.BPClassifier(epochs=1).fit(X, y)


def test_predict_checks_features_and_fitted_state():
    clf = bpnet.BPClassifier(3, epochs=2)
    with pytest.raises(ValueError, match="not fitted"):
        clf.predict(np.ones((1, 4)))
    clf.fit(*blobs())
    with pytest.raises(ValueError, match="expects 4"):
        clf.predict(np.ones((2, 5)))


def test_non_finite_loss_stops_and_names_the_epoch():
    X, y = blobs()
    clf = bpnet.BPClassifier(4, hidden="relu", output="identity", optimizer="sgd", lr=1e3,
                             momentum=0.0, epochs=200, random_state=0)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(bpnet.TrainingError, match=r"at epoch \d+"):
            clf.fit(X * 100, y)
