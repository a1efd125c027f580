"""Final ResNet models, load_model, fer-predict and the ONNX export, on tiny synthetic runs."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import stat

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bpnet.data.synthetic import synthetic_faces, write_image_folder  # noqa: E402
from bpnet.pipeline import fit_pipeline, load_pipeline  # noqa: E402
from resnet_fer import predict  # noqa: E402
from resnet_fer.config import DataConfig, TrainConfig  # noqa: E402
from resnet_fer.model_file import FORMAT_VERSION, fit_final, load_resnet_model  # noqa: E402
from resnet_fer.predictor import load_model  # noqa: E402

TINY = TrainConfig(size=32, stem="small", width=8, epochs=2, batch_size=16, dropout=0.0,
                   ema=0.9, tta="flip", seed=4)


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(n_per_class=4, size=32, seed=2, rgb=True)


@pytest.fixture(scope="module")
def resnet(faces, tmp_path_factory):
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest on a busy machine
    model = fit_final(faces.images, faces.y, TINY, class_names=faces.class_names,
                      data=DataConfig(), progress=False, info={"note": "test"})
    folder = tmp_path_factory.mktemp("resnet")
    return model, model.save(folder / "resnet.safetensors"), model.save(folder / "resnet.pt")


@pytest.fixture(scope="module")
def bp_file(faces, tmp_path_factory):
    pipeline = fit_pipeline(faces.images, faces.y, faces.class_names, size=32, n_hidden=8,
                            epochs=20)
    return pipeline.save(tmp_path_factory.mktemp("bp") / "bp.npz")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_image_folder(synthetic_faces(n_per_class=1, size=48, seed=9),
                              tmp_path_factory.mktemp("photos") / "photos")


def test_final_model_is_trained_on_every_row_with_ema_weights(resnet, faces):
    model, *_ = resnet
    assert model.data.decode_size == 32 and model.info == {"note": "test"}
    assert not model.model.training
    fresh = fit_final(faces.images, faces.y, TINY, class_names=faces.class_names,
                      progress=False)  # the same seed: the same weights
    for k, v in model.model.state_dict().items():
        assert torch.equal(v, fresh.model.state_dict()[k]), k


@pytest.mark.parametrize("which", [1, 2], ids=["safetensors", "torch-save"])
def test_loaded_model_predicts_exactly_as_the_trained_one(resnet, faces, which):
    model, *paths = resnet
    x = faces.images
    expected = model.predict_proba(x)
    np.testing.assert_allclose(expected.sum(1), 1.0, atol=1e-5)
    loaded = load_resnet_model(paths[which - 1], faces.class_names)
    assert loaded.config == model.config and loaded.data == model.data
    assert np.array_equal(loaded.predict_proba(x), expected)
    # from photos of another size: load_model resizes as training decoded
    big = np.repeat(np.repeat(x[:5], 2, axis=1), 2, axis=2)
    from resnet_fer.predictor import Predictor

    assert np.array_equal(load_model(paths[which - 1]).predict_proba(big),
                          Predictor(model).predict_proba(big))


def test_weights_only_file_and_refusals(resnet, faces, tmp_path):
    model, st_path, pt_path = resnet
    blob = torch.load(pt_path, weights_only=True)  # plain tensors and strings only
    assert set(blob) == {"resnet_fer", "state_dict"}
    with pytest.raises(ValueError, match="trained on the classes Angry"):
        load_model(st_path, ["Happy", "Sad"])
    meta = json.loads(blob["resnet_fer"])
    newer = tmp_path / "newer.pt"
    torch.save({**blob, "resnet_fer": json.dumps({**meta, "version": FORMAT_VERSION + 1})}, newer)
    with pytest.raises(ValueError,
                       match=f"model format version {FORMAT_VERSION + 1} .*newer bpnet-fer"):
        load_model(newer)
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(st_path), framework="pt") as fh:
        state = {k: fh.get_tensor(k) for k in fh.keys()}
    newer = tmp_path / "newer.safetensors"
    save_file(state, str(newer), metadata={"resnet_fer": json.dumps({**meta, "version": 99})})
    with pytest.raises(ValueError, match="model format version 99 .*newer bpnet-fer"):
        load_model(newer)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable resnet-fer model file"):
        load_model(junk)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_model_files_are_as_readable_as_the_other_files_of_a_run(resnet, bp_file, tmp_path):
    old = os.umask(0o022)  # the usual umask: plain files come out rw-r--r--
    try:
        paths = [resnet[0].save(tmp_path / "m.safetensors"), resnet[0].save(tmp_path / "m.pt"),
                 load_pipeline(bp_file).save(tmp_path / "bp.npz")]
    finally:
        os.umask(old)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o644] * 3  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bp.npz", "m.pt", "m.safetensors"]


@pytest.mark.parametrize("kind", ["bp", "resnet"])
def test_fer_predict_on_a_folder_writes_csv_json_and_annotations(kind, resnet, bp_file, photos,
                                                                tmp_path, capsys):
    model_path = bp_file if kind == "bp" else resnet[1]
    csv_path, ann = tmp_path / "p.csv", tmp_path / "ann"
    assert predict.main([str(model_path), str(photos), "--out", str(csv_path), "--annotate",
                         str(ann), "--top", "2", "--no-progress", "--batch-size", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    files = sorted(photos.rglob("*.png"))
    assert len(lines) == len(files) == 7 and all(line.count("%") == 2 for line in lines)
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["file"] for r in rows] == [str(f) for f in files]
    names = load_model(model_path).class_names
    probs = np.array([[float(r[f"p_{n}"]) for n in names] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    # the same numbers as the Python API gives (batched or not)
    np.testing.assert_allclose(probs, load_model(model_path).predict_proba(files), atol=1e-6)
    assert [r["expression"] for r in rows] == [names[i] for i in probs.argmax(1)]
    assert {(r["box_width"], r["face_found"]) for r in rows} == {("48", "")}
    assert sorted(p.relative_to(ann) for p in ann.rglob("*.png")) == \
        [f.relative_to(photos) for f in files]
    json_path = tmp_path / "p.json"
    assert predict.main([str(model_path), str(files[0]), "--out", str(json_path), "--top", "3"]) == 0
    doc = json.loads(json_path.read_text())
    assert doc["kind"] == kind and len(doc["predictions"][0]["top"]) == 3


def test_fer_predict_mistakes_and_unreadable_images_are_one_line(bp_file, photos, tmp_path,
                                                                 capsys):
    bad = tmp_path / "in"
    write_image_folder(synthetic_faces(n_per_class=1, size=32, seed=1), bad)
    (bad / "Happy" / "broken.png").write_bytes(b"no image here")
    out = tmp_path / "p.csv"
    cases = [([str(bp_file), str(bad)], "cannot decode image .*broken.png"),
             ([str(tmp_path / "none.npz"), str(bad)], "model file .*none.npz not found"),
             ([str(bp_file), str(tmp_path / "nowhere")], "no such file or folder"),
             ([str(bp_file), str(bad), "--out", str(tmp_path / "p.txt")], "give a .csv or .json"),
             ([str(bp_file), str(bad), "--top", "9"], "knows 7 classes"),
             ([str(bp_file), str(bad), "--classes", "a,b"], "trained on the classes")]
    for argv, message in cases:
        assert predict.main(argv + ["--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("fer-predict: error: "), err
        assert re.search(message, err[0]), (message, err[0])
    assert predict.main([str(bp_file), str(bad), "--skip-bad", "--out", str(out)]) == 0
    err = re.split(r"[\r\n]", capsys.readouterr().err)  # with the progress bar drawn
    skipped = [line for line in err if "skipped" in line]
    assert len(skipped) == 1 and re.match(r"fer-predict: skipped: cannot decode image .*broken"
                                          r"\.png", skipped[0]), skipped
    assert any(line.startswith("predicting: 100%") for line in err)
    assert len(list(csv.DictReader(out.open()))) == 7
    assert predict.main([str(bp_file), str(bad), "--out", str(out), "--skip-bad"]) == 2
    assert "exists; use --force" in capsys.readouterr().err


@pytest.mark.parametrize("stored", [32, 48], ids=["at-network-size", "resized-in-graph"])
def test_export_onnx_matches_pytorch(resnet, stored, tmp_path, capsys):
    pytest.importorskip("onnx", reason="the [onnx] extra is not installed")
    pytest.importorskip("onnxscript", reason="the [onnx] extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")
    from resnet_fer.cli import main

    trained, st_path, _ = resnet
    # images stored at 48 px for a 32 px network (as fer-compare's 64 px synthetic faces for
    # its 48 px recipe): the graph takes what Predictor.prepare gives and resizes it itself
    model = dataclasses.replace(trained, data=DataConfig(decode_size=stored))
    if stored != TINY.size:
        st_path = model.save(tmp_path / "stored48.safetensors")
    out = tmp_path / "model.onnx"
    assert main(["export", str(st_path), "--onnx", str(out)]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = synthetic_faces(n_per_class=3, size=stored, seed=21, rgb=True).images  # new faces
    assert load_model(st_path).prepare(x[0])[0].shape == x[0].shape  # the predictor's input
    got = session.run(None, {"images": x})[0]
    np.testing.assert_allclose(got, model.predict_proba(x), rtol=0, atol=1e-4)
    meta = {p.key: p.value for p in __import__("onnx").load(str(out)).metadata_props}
    assert json.loads(meta["class_names"]) == list(trained.class_names)
    assert (int(meta["input_size"]), int(meta["network_size"])) == (stored, TINY.size)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".safetensors") == ["model.onnx"]
    capsys.readouterr()
    assert main(["export", str(st_path), "--onnx", str(out)]) == 2  # never overwritten unasked
    assert "exists; use --force" in capsys.readouterr().err
