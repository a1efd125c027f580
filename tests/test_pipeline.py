"""The BP model file (bpnet.pipeline): the whole pipeline in one .npz, read back exactly."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpnet import io
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.pipeline import PIPELINE_VERSION, FeaturePipeline, fit_pipeline, load_pipeline
from bpnet.pruning import DistinctivenessPruner

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(n_per_class=6, size=64, seed=3)


@pytest.fixture(scope="module")
def fitted(faces, tmp_path_factory):
    pipeline = fit_pipeline(faces.images, faces.y, faces.class_names, size=64, n_hidden=12,
                            epochs=40, prune=DistinctivenessPruner(), epochs_per_round=5,
                            random_state=1, info={"note": "test"})
    return pipeline, pipeline.save(tmp_path_factory.mktemp("bp") / "bp")


def test_features_are_the_ones_cross_validation_used(faces, fitted):
    pipeline, _ = fitted
    cv_features = image_dataset_features(faces, progress=False).X  # what fer-compare trains on
    Z = pipeline.normalizer.transform(cv_features)
    np.testing.assert_allclose(pipeline.features(faces.images), Z, rtol=0, atol=1e-9)


def test_loaded_pipeline_predicts_exactly_as_the_fitted_one(faces, fitted):
    pipeline, path = fitted
    assert path.suffix == ".npz"
    expected = pipeline.predict_proba(faces.images)
    assert expected.shape == (len(faces.y), 7)
    np.testing.assert_allclose(expected.sum(1), 1.0, atol=1e-12)
    loaded = load_pipeline(path, faces.class_names)
    assert isinstance(loaded, FeaturePipeline) and loaded.info == {"note": "test"}
    assert np.array_equal(loaded.predict_proba(faces.images), expected)
    # images of another size are resized to the training size first
    big = np.repeat(np.repeat(faces.images[:3], 2, axis=1), 2, axis=2)
    assert np.array_equal(loaded.predict_proba(big), pipeline.predict_proba(big))


def test_the_file_holds_no_pickle(fitted):
    _, path = fitted
    with np.load(path, allow_pickle=False) as data:  # would raise on an object array
        assert all(data[k].dtype != object for k in data.files)
        assert "net.W1" in data.files and "normalizer.center_" in data.files


def test_another_class_list_is_refused(fitted):
    _, path = fitted
    with pytest.raises(ValueError, match="trained on the classes Angry, Disgust"):
        load_pipeline(path, ["Happy", "Sad"])
    with pytest.raises(ValueError, match="trained on the classes"):  # same names, other order
        load_pipeline(path, ["Disgust", "Angry", "Fear", "Happy", "Neutral", "Sad", "Surprise"])


def test_a_newer_format_is_refused_with_a_clear_message(fitted, tmp_path):
    _, path = fitted
    meta, arrays = io.load_arrays(path)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "kind")}
    newer = io.save_arrays(tmp_path / "newer", "FERPipeline",
                           {**meta, "pipeline_version": PIPELINE_VERSION + 1}, arrays)
    with pytest.raises(ValueError, match=f"^{newer}: pipeline format version "
                                         f"{PIPELINE_VERSION + 1} .*newer bpnet-fer.*upgrade"):
        load_pipeline(newer)


def test_inconsistent_file_is_refused(fitted, tmp_path):
    _, path = fitted
    meta, arrays = io.load_arrays(path)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "kind")}
    bad = io.save_arrays(tmp_path / "bad", "FERPipeline",
                         {**meta, "class_names": ["a", "b"]}, arrays)
    with pytest.raises(ValueError, match="inconsistent"):
        load_pipeline(bad)


def test_a_bp_model_predicts_without_torch(fitted, faces, tmp_path):
    _, path = fitted
    image = tmp_path / "face.png"
    from PIL import Image

    Image.fromarray(faces.images[0]).save(image)
    out = tmp_path / "p.json"
    code = ("import sys; from resnet_fer.predict import main; "
            f"rc = main([{str(path)!r}, {str(image)!r}, '--out', {str(out)!r}]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["kind"] == "bp" and len(doc["predictions"]) == 1
    assert doc["predictions"][0]["face_found"] is None  # this model does not crop faces
