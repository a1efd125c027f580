"""The two contenders of the paper, ``bp-paper`` and ``resnet18``: fold contract and leakage."""
import numpy as np
import pytest

from bpnet.data.synthetic import synthetic_faces
from bpnet.splits import make_splits

torch = pytest.importorskip("torch")

from resnet_fer import contenders  # noqa: E402


@pytest.fixture(scope="module")
def faces():
    from bpnet.data.features import image_dataset_features

    data = synthetic_faces(n_per_class=5, size=64, seed=3)
    X = image_dataset_features(data, progress=False).X
    return data, X


def _folds(data, X, y, workdir=None):
    splits = make_splits("stratified", data.y, None, 2, 0)
    return [contenders.Fold(tr, te, y, data.groups, tuple(data.class_names), X=X,
                            images=data.images, index=k, seed=k,
                            workdir=None if workdir is None else workdir / f"f{k}")
            for k, (tr, te) in enumerate(splits)]


def _with_test_labels_changed(data, fold):
    y = data.y.copy()
    y[fold.test] = (y[fold.test] + 3) % len(data.class_names)
    return y


@pytest.mark.parametrize("name", ["bp-paper", "resnet18"])
def test_test_labels_do_not_move_the_predictions(name, faces, tmp_path, one_torch_thread):
    data, X = faces
    c = contenders.get(name)
    recipe, _ = c.resolve_recipe("cpu", quick=True)
    fits = c.fit_folds(_folds(data, X, data.y, tmp_path / "a"), recipe)
    first = _folds(data, X, data.y)[0]
    changed = _with_test_labels_changed(data, first)
    again = c.fit_folds(_folds(data, X, changed, tmp_path / "b"), recipe)
    np.testing.assert_array_equal(fits[0].result.y_pred, again[0].result.y_pred)
    np.testing.assert_allclose(fits[0].result.scores, again[0].result.scores, atol=1e-6)
    for fit, fold in zip(fits, _folds(data, X, data.y)):
        r = fit.result
        np.testing.assert_array_equal(r.test_idx, fold.test)
        np.testing.assert_allclose(r.scores.sum(1), 1.0, atol=1e-6)  # probabilities
        assert fit.n_params > 0 and fit.fit_seconds > 0 and fit.predict_ms_per_image > 0


def test_both_are_registered_with_their_inputs():
    reg = contenders.registry()
    assert reg["bp-paper"].input == "features" and reg["resnet18"].input == "images"
    assert {"bp-paper", "resnet18"} <= {c.name for c in contenders.available("cpu")}
    with pytest.raises(ValueError, match="there are: .*bp-paper"):
        contenders.get("no-such-model")
