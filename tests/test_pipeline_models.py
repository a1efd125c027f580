"""The BP ensemble and linear models in the pipeline file (bpnet.pipeline_models), read back
exactly; the format's version 2 ``model`` field, version 1 files and unknown models."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpnet import io
from bpnet.data.blocks import describe_blocks, stack_blocks
from bpnet.data.synthetic import synthetic_faces
from bpnet.linear import SoftmaxRegression, Standardizer
from bpnet.pipeline import (
    DESCRIPTOR_DEFAULTS,
    KIND,
    PIPELINE_VERSION,
    FeaturePipeline,
    fit_pipeline,
    fit_reducer,
    load_pipeline,
)
from bpnet.pipeline_models import EnsemblePipeline, LinearPipeline
from bpnet.preprocessing import Normalizer
from bpnet.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(n_per_class=4, size=64, seed=5)


@pytest.fixture(scope="module")
def linear(faces, tmp_path_factory):
    blocks = ("phog", "hog")
    X = stack_blocks(describe_blocks(faces.images, blocks), blocks)
    scaler = Standardizer().fit(X)
    reg = SoftmaxRegression(alpha=0.1, class_weight="balanced", max_iter=30)
    reg.fit(scaler.transform(X), faces.y, 7)
    model = LinearPipeline(tuple(faces.class_names), 64, {"face_crop": "none"},
                           dict(DESCRIPTOR_DEFAULTS), blocks, True, scaler, reg, {"note": "lin"})
    return model, model.save(tmp_path_factory.mktemp("linear") / "linear")


@pytest.fixture(scope="module")
def ensemble(faces, tmp_path_factory):
    descriptor, reducer, X = fit_reducer(faces.images, 64, 5, None)
    settings = Settings.from_dict({"n_hidden": 6, "hidden": "tanh", "output": "softmax",
                                   "loss": "cross_entropy"}, dtype="float32")
    halves = (np.arange(0, len(X), 2), np.arange(1, len(X), 2))
    members = [(Normalizer().fit(X[rows]),
                settings.build_network(X.shape[1], 7, np.random.default_rng(k)))
               for k, rows in enumerate(halves)]
    model = EnsemblePipeline(tuple(faces.class_names), 64, {"face_crop": "none"}, descriptor,
                             reducer, members, {"note": "ens"})
    return model, model.save(tmp_path_factory.mktemp("ensemble") / "ens")


@pytest.mark.parametrize("which", ["linear", "ensemble"])
def test_loaded_model_predicts_exactly_as_the_fitted_one(which, faces, request):
    model, path = request.getfixturevalue(which)
    expected = model.predict_proba(faces.images)
    assert expected.shape == (len(faces.y), 7)
    np.testing.assert_allclose(expected.sum(1), 1.0, atol=1e-12)
    loaded = load_pipeline(path, faces.class_names)
    assert type(loaded) is type(model) and loaded.info == model.info
    assert np.array_equal(loaded.predict_proba(faces.images), expected)
    big = np.repeat(np.repeat(faces.images[:3], 2, axis=1), 2, axis=2)  # resized first
    assert np.array_equal(loaded.predict_proba(big), model.predict_proba(big))
    with np.load(path, allow_pickle=False) as data:  # would raise on an object array
        assert all(data[k].dtype != object for k in data.files)
        meta = json.loads(str(data["__bpnet__"]))
    assert meta["model"] == model.model and meta["pipeline_version"] == PIPELINE_VERSION


def test_linear_features_are_the_contenders(faces, linear):
    """The saved model describes an image as linear-descriptors' folds did (same blocks,
    square root, then the standardiser)."""
    model, _ = linear
    X = stack_blocks(describe_blocks(faces.images, ("lpq", "phog", "hog")), ("phog", "hog"))
    assert np.array_equal(model.features(faces.images), model.scaler.transform(X))


def test_a_linear_model_of_toned_images_tones_new_ones(faces, linear):
    """A preset's images are toned at load (grey, equalised): so are a new photo's."""
    pytest.importorskip("cv2")
    from dataclasses import replace

    from bpnet.data.image_dataset import tone

    model, _ = linear
    grey = replace(model, crop={"face_crop": "none", "gray": True, "equalize": True})
    toned = tone(faces.images, gray=True, equalize=True)
    assert not np.array_equal(toned, faces.images)
    assert np.array_equal(grey.features(faces.images), model.features(toned))


def test_ensemble_averages_its_members(faces, ensemble):
    model, _ = ensemble
    from bpnet.training import predict_outputs

    X = model.features(faces.images)
    outs = [predict_outputs(net, norm.transform(X)) for norm, net in model.members]
    assert not np.allclose(outs[0], outs[1])  # two different members, both counted
    mean = (outs[0] + outs[1]) / 2
    np.testing.assert_allclose(model.predict_proba(faces.images),
                               mean / mean.sum(1, keepdims=True), rtol=1e-6)


@pytest.mark.parametrize("which", ["linear", "ensemble"])
def test_other_classes_newer_versions_and_unknown_models_are_refused(which, request, tmp_path):
    _, path = request.getfixturevalue(which)
    with pytest.raises(ValueError, match="trained on the classes Angry, Disgust"):
        load_pipeline(path, ["Happy", "Sad"])
    meta, arrays = io.load_arrays(path)
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "kind")}
    newer = io.save_arrays(tmp_path / "newer", KIND,
                           {**meta, "pipeline_version": PIPELINE_VERSION + 1}, arrays)
    with pytest.raises(ValueError, match=f"^{newer}: pipeline format version "
                                         f"{PIPELINE_VERSION + 1} .*newer bpnet-fer.*upgrade"):
        load_pipeline(newer)
    unknown = io.save_arrays(tmp_path / "unknown", KIND, {**meta, "model": "svm"}, arrays)
    with pytest.raises(ValueError, match=f"^{unknown}: .*'svm' model"):
        load_pipeline(unknown)
    bad = io.save_arrays(tmp_path / "bad", KIND, {**meta, "class_names": ["a", "b"]}, arrays)
    with pytest.raises(ValueError, match=f"^{bad}: model file is inconsistent"):
        load_pipeline(bad)


def test_a_version_1_bp_file_still_loads(faces, tmp_path):
    """Files written before the ``model`` field (version 1) hold a BP pipeline."""
    bp = fit_pipeline(faces.images, faces.y, faces.class_names, size=64, n_hidden=4, epochs=3)
    meta, arrays = io.load_arrays(bp.save(tmp_path / "v2"))
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "kind", "model")}
    old = io.save_arrays(tmp_path / "v1", KIND, {**meta, "pipeline_version": 1}, arrays)
    loaded = load_pipeline(old, faces.class_names)
    assert isinstance(loaded, FeaturePipeline)
    assert np.array_equal(loaded.predict_proba(faces.images), bp.predict_proba(faces.images))


def test_fer_predict_runs_a_linear_model_without_torch(linear, faces, tmp_path):
    _, path = linear
    from PIL import Image

    image = tmp_path / "face.png"
    Image.fromarray(faces.images[0]).save(image)
    out = tmp_path / "p.json"
    code = ("import sys; from resnet_fer.predict import main; "
            f"rc = main([{str(path)!r}, {str(image)!r}, '--out', {str(out)!r}]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["kind"] == "linear" and len(doc["predictions"]) == 1
