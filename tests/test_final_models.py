"""``fer-compare --save-models`` and ``resnet-fer train --final``: models and cards in <out>/models."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from bpnet.comparison import ComparisonResult  # noqa: E402
from bpnet.data.features import image_dataset_features  # noqa: E402
from bpnet.data.synthetic import synthetic_faces, write_image_folder  # noqa: E402
from bpnet.pipeline import load_pipeline  # noqa: E402
from bpnet.preprocessing import Normalizer  # noqa: E402
from bpnet.training import predict_outputs  # noqa: E402
from resnet_fer import compare, model_card, predict  # noqa: E402
from resnet_fer.cli import main as resnet_main  # noqa: E402
from resnet_fer.config import DataConfig  # noqa: E402
from resnet_fer.predictor import Predictor, load_model  # noqa: E402


def _card_checks(text: str, interval, n_folds: int, class_names) -> None:
    mean, low, high = interval
    assert 0 <= mean <= 1 and low <= mean <= high
    assert f"{mean:.1%} (95 % interval over the {n_folds} folds, Nadeau-Bengio corrected for " \
           f"their overlapping training rows: {low:.1%} to {high:.1%}" in text
    for i, name in enumerate(class_names):
        assert f"{i}. {name}" in text
    for heading in ("**Data**", "**Date**", "## Recipe", "## Versions", "bpnet-fer"):
        assert heading in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)


def test_fer_compare_save_models_refits_both_recipes(tmp_path, one_torch_thread, capsys):
    out = tmp_path / "run"
    assert compare.main(["--quick", "--synthetic-per-class", "6", "--folds", "2",
                         "--no-progress", "--save-models", "--out", str(out)]) == 0
    models = out / "models"
    # the default models: each saved (bp-tuned and linear-descriptors: the test below)
    assert sorted(p.name for p in models.iterdir()) == [
        "bp-tuned.md", "bp-tuned.npz", "bp.md", "bp.npz", "linear.md", "linear.npz",
        "resnet.md", "resnet.safetensors"]
    res = ComparisonResult.from_json(out / "results.json")
    names = list(res.data.class_names)
    for kind, stem in (("bp-paper", "bp"), ("resnet18", "resnet")):
        # the card's interval is the report's leaderboard interval (the corrected one)
        interval = next(m.metric("accuracy") for m in res.statistics.metrics if m.model == kind)
        assert model_card.cv_interval(res.model(kind).result) == pytest.approx(interval)
        _card_checks((models / f"{stem}.md").read_text(), interval, 2, names)
    faces = synthetic_faces(n_per_class=1, size=64, seed=11).images
    for name in ("bp.npz", "resnet.safetensors"):
        probs = load_model(models / name, names).predict_proba(faces)
        assert probs.shape == (7, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    bp = load_model(models / "bp.npz").model
    recipe = res.model("bp-paper").recipe
    assert bp.net.n_hidden <= recipe["n_hidden"]  # pruned, or not, as in CV
    assert bp.info["recipe"]["epochs"] == recipe["epochs"]
    marker = json.loads((out / ".run.json").read_text())
    assert "models" in marker["files"]  # so --force removes the models with the run


def test_resnet_fer_train_final_writes_a_model_and_card(tmp_path, one_torch_thread, capsys):
    out = tmp_path / "run"
    assert resnet_main(["train", "--final", "--synthetic-per-class", "3", "--folds", "2",
                        "--epochs", "1", "--size", "32", "--stem", "small", "--width", "8",
                        "--batch-size", "8", "--no-progress", "--out", str(out)]) == 0
    assert "models/resnet.safetensors" in capsys.readouterr().out
    result = json.loads((out / "results.json").read_text())
    card = (out / "models" / "resnet.md").read_text()
    accs = np.array(result["summary"]["fold_test_accuracy"])
    # corrected resampled t (Nadeau-Bengio): 21 images in 2 folds, so on average 10.5 test and
    # 10.5 training rows per fold (n_test / n_train = 1), 1 degree of freedom
    half = stats.t.ppf(0.975, 1) * accs.std(ddof=1) * np.sqrt(1 / 2 + 10.5 / 10.5)
    _card_checks(card, (accs.mean(), accs.mean() - half, accs.mean() + half), 2,
                 result["class_names"])
    model = load_model(out / "models" / "resnet.safetensors").model
    assert model.config.epochs == 1 and model.data.face_crop == "none"


def test_a_face_cropping_model_reports_the_box_it_used(tmp_path):
    from resnet_fer.config import TrainConfig
    from resnet_fer.model_file import ResNetModel
    from resnet_fer.train import build_model

    config = TrainConfig(size=32, stem="small", width=8)
    model = ResNetModel(build_model(config, 3).eval(), config,
                        DataConfig(face_crop="haar", decode_size=32), ("a", "b", "c"))
    path = model.save(tmp_path / "m.pt")
    blank = np.full((60, 80, 3), 127, np.uint8)  # no face: the centre square, face_found False
    pred = load_model(path).predict([blank])[0]
    assert pred.face_found is False and pred.box == (10, 0, 60, 60)
    assert np.array_equal(load_model(path).predict_proba([blank]),
                          Predictor(model).predict_proba([blank]))


def test_save_models_with_nothing_to_save_is_refused_before_any_work(tmp_path, capsys):
    from resnet_fer import contenders
    from resnet_fer.final import SAVABLE

    # every contender has a model file; only the BP networks on a sheet's features cannot
    assert set(SAVABLE) == set(contenders.registry())
    out = tmp_path / "run"
    assert compare.main(["--quick", "--no-progress", "--save-models", "--out", str(out),
                         "--models", "bp-paper,bp-tuned", "--features", "sheet.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "fer-compare: error: --save-models saves bp-paper and bp-tuned (not with --features), "
        "bp-descriptors, linear-descriptors, resnet18, resnet18-reg, cnn-small and googlenet; "
        "none of them")
    assert not out.exists()  # refused before the output folder was opened


def test_fer_compare_save_models_refits_bp_tuned_and_linear(tmp_path, one_torch_thread, capsys):
    out = tmp_path / "run"
    assert compare.main(["--quick", "--synthetic-per-class", "6", "--folds", "2",
                         "--no-progress", "--save-models", "--models",
                         "bp-tuned,linear-descriptors", "--out", str(out)]) == 0
    assert "note: --save-models saves" not in capsys.readouterr().out  # nothing left unsaved
    models = out / "models"
    assert sorted(p.name for p in models.iterdir()) == ["bp-tuned.md", "bp-tuned.npz",
                                                         "linear.md", "linear.npz"]
    res = ComparisonResult.from_json(out / "results.json")
    names = list(res.data.class_names)
    folder = write_image_folder(synthetic_faces(n_per_class=1, size=64, seed=11),
                                tmp_path / "photos")
    for kind, stem, model_kind in (("bp-tuned", "bp-tuned", "bp"),
                                   ("linear-descriptors", "linear", "linear")):
        interval = next(m.metric("accuracy") for m in res.statistics.metrics if m.model == kind)
        card = (models / f"{stem}.md").read_text()
        _card_checks(card, interval, 6, names)
        assert "chosen on stratified inner folds of all images" in card
        model = load_pipeline(models / f"{stem}.npz", names)
        assert model.info["recipe"]["inner_folds"] == res.model(kind).recipe["inner_folds"]
        preds = tmp_path / f"{stem}.json"
        assert predict.main([str(models / f"{stem}.npz"), str(folder), "--out", str(preds),
                             "--no-progress"]) == 0
        doc = json.loads(preds.read_text())
        assert doc["kind"] == model_kind and len(doc["predictions"]) == 7
        faces = synthetic_faces(n_per_class=1, size=64, seed=11).images
        assert np.array_equal(load_model(models / f"{stem}.npz").predict_proba(faces),
                              model.predict_proba(faces))


@pytest.fixture(scope="module")
def small_faces():
    return synthetic_faces(n_per_class=5, size=64, seed=8)


def test_final_bp_tuned_keeps_the_searched_inner_models(small_faces, tmp_path, monkeypatch):
    from resnet_fer.contenders import bp_tuned

    seen = {}

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            seen[name] = (args, kwargs, fn(*args, **kwargs))
            return seen[name][2]
        monkeypatch.setattr(bp_tuned, name, wrapped)

    spy("grid_search_cv", bp_tuned.grid_search_cv)
    spy("fit_models", bp_tuned.fit_models)
    f = small_faces
    recipe = bp_tuned.CONTENDER.recipe("cpu", quick=True)
    model = bp_tuned.fit_final(f.images, f.y, f.groups, f.class_names, recipe,
                               kind="stratified", seed=3, size=64, crop={"face_crop": "none"})
    (_, _, _, outer), search_kw, res = seen["grid_search_cv"]
    inner = search_kw["inner_splits"][0]
    # the grid is searched on inner folds of every row
    assert np.array_equal(np.sort(np.concatenate([b for _, b in inner])), np.arange(len(f.y)))
    assert model.info["chosen"]["chosen"] == res.params[int(res.chosen[0])]
    assert len(model.members) == len(inner) * recipe["n_init"]
    # each member is the trained network of its block, behind its block's normaliser
    (X, _, specs, blocks), _, fit = seen["fit_models"]
    for m, (norm, net) in enumerate(model.members):
        assert specs[m].epochs == res.best_epoch[0, m, int(res.chosen[0])]
        rows = blocks[m].train
        np.testing.assert_allclose(norm.center_, Normalizer().fit(X[rows]).center_)
        np.testing.assert_allclose(predict_outputs(net, norm.transform(X[rows])),
                                   fit.outputs[m][0], rtol=1e-5, atol=1e-6)
    # the features are fer-compare's (PCA on all images), as the BP pipeline's are
    cv_features = image_dataset_features(f, progress=False).X
    np.testing.assert_allclose(model.features(f.images), cv_features, rtol=0, atol=1e-9)
    loaded = load_pipeline(model.save(tmp_path / "bp-tuned"), f.class_names)
    assert np.array_equal(loaded.predict_proba(f.images), model.predict_proba(f.images))


def test_final_linear_is_chosen_on_inner_folds_of_all_rows(small_faces, tmp_path, monkeypatch):
    from resnet_fer.contenders import linear_descriptors as lin

    seen = {}
    choose = lin.choose_setting

    def spy(desc, y, inner, recipe, n_classes):
        seen["inner"] = inner
        seen["chosen"] = choose(desc, y, inner, recipe, n_classes)
        return seen["chosen"]

    monkeypatch.setattr(lin, "choose_setting", spy)
    f = small_faces
    recipe = {**lin.CONTENDER.recipe("cpu", quick=True), "alphas": [0.1, 1.0]}
    model = lin.fit_final(f.images, f.y, f.groups, f.class_names, recipe, kind="stratified",
                          seed=3, crop={"face_crop": "none"})
    val = np.sort(np.concatenate([b for _, b in seen["inner"]]))
    assert np.array_equal(val, np.arange(len(f.y)))  # every row validates once
    blocks, alpha, _ = seen["chosen"]
    assert model.blocks == blocks and model.regression.alpha == alpha
    # then fitted on every row with the chosen setting
    X = lin.stack_blocks(lin.descriptors(f.images), blocks)
    scaler, ref = lin._fit_scaled(X, f.y, np.arange(len(f.y)), alpha, recipe, 7)
    assert np.array_equal(model.regression.coef_, ref.coef_)
    assert np.array_equal(model.scaler.mean_, scaler.mean_)
    # a new image is described exactly as the cross-validation described it
    assert np.array_equal(model.features(f.images), scaler.transform(X))
    loaded = load_pipeline(model.save(tmp_path / "linear"), f.class_names)
    assert np.array_equal(loaded.predict_proba(f.images), model.predict_proba(f.images))


def test_fer_compare_save_models_refits_the_image_contenders(tmp_path, one_torch_thread,
                                                             capsys, monkeypatch):
    from resnet_fer import model_file
    from resnet_fer.contenders._image_fold import recipe_config

    fitted = {}  # arch -> (the images it trained on, the in-memory final model)
    fit = model_file.fit_final

    def spy(images, *args, **kwargs):
        model = fit(images, *args, **kwargs)
        fitted[model.config.arch] = (np.asarray(images), model)
        return model

    monkeypatch.setattr(model_file, "fit_final", spy)
    out = tmp_path / "run"
    assert compare.main(["--quick", "--synthetic-per-class", "4", "--folds", "2",
                         "--no-progress", "--save-models", "--models",
                         "cnn-small,resnet18-reg,googlenet,bp-descriptors", "--out",
                         str(out)]) == 0
    assert "note: --save-models saves" not in capsys.readouterr().out  # nothing left unsaved
    models = out / "models"
    assert sorted(p.name for p in models.iterdir()) == [
        "bp-descriptors.md", "bp-descriptors.npz", "cnn-small.md", "cnn-small.safetensors",
        "googlenet.md", "googlenet.safetensors", "resnet18-reg.md", "resnet18-reg.safetensors"]
    res = ComparisonResult.from_json(out / "results.json")
    names = list(res.data.class_names)
    faces = synthetic_faces(n_per_class=1, size=64, seed=11).images
    folder = write_image_folder(synthetic_faces(n_per_class=1, size=64, seed=11),
                                tmp_path / "photos")
    for kind, arch in (("cnn-small", "cnn-small"), ("resnet18-reg", "resnet18"),
                       ("googlenet", "googlenet")):
        interval = next(m.metric("accuracy") for m in res.statistics.metrics if m.model == kind)
        _card_checks((models / f"{kind}.md").read_text(), interval, 2, names)
        loaded = load_model(models / f"{kind}.safetensors", names)
        # refitted with the recipe the folds used, seeded with the run's seed
        recipe = res.model(kind).recipe
        assert loaded.model.config == recipe_config(recipe, res.splits.seed)
        assert loaded.model.config.arch == arch
        gray = bool(recipe.get("gray", False))
        assert loaded.model.data.gray is gray
        images, in_memory = fitted[arch]
        # trained on the images as the folds saw them: grey when the recipe says so
        assert np.array_equal(images[..., 0], images[..., 1]) is gray
        assert np.array_equal(loaded.predict_proba(faces), Predictor(in_memory).predict_proba(faces))
        assert np.array_equal(loaded.model.predict_proba(images), in_memory.predict_proba(images))
    assert fitted["cnn-small"][1].data.gray  # the cnn-small recipe is grey: checked above
    # bp-descriptors: an ensemble pipeline, components chosen among the recipe's
    interval = next(m.metric("accuracy") for m in res.statistics.metrics
                    if m.model == "bp-descriptors")
    card = (models / "bp-descriptors.md").read_text()
    _card_checks(card, interval, 2, names)
    assert "chosen on stratified inner folds of all images" in card
    ensemble = load_pipeline(models / "bp-descriptors.npz", names)
    assert ensemble.reducer.n_components in res.model("bp-descriptors").recipe["n_components"]
    assert np.array_equal(load_model(models / "bp-descriptors.npz").predict_proba(faces),
                          ensemble.predict_proba(faces))
    for name, kind in (("cnn-small.safetensors", "resnet"), ("bp-descriptors.npz", "bp")):
        preds = tmp_path / f"{name}.json"
        assert predict.main([str(models / name), str(folder), "--out", str(preds),
                             "--no-progress"]) == 0
        doc = json.loads(preds.read_text())
        assert doc["kind"] == kind and len(doc["predictions"]) == 7


def test_final_bp_descriptors_chooses_on_inner_folds_of_all_rows(small_faces, tmp_path):
    from bpnet.data.features import DescriptorPCA
    from resnet_fer.contenders import bp_descriptors as bd
    from resnet_fer.contenders._descriptor_cache import descriptors

    f = small_faces
    recipe = {**bd.CONTENDER.recipe("cpu", quick=True), "n_components": [3, 5]}
    model = bd.fit_final(f.images, f.y, f.groups, f.class_names, recipe, kind="stratified",
                         seed=3, crop={"face_crop": "none"})
    chose = model.info["chosen"]
    assert chose["n_components"] in (3, 5) and model.reducer.n_components == chose["n_components"]
    assert len(model.members) == recipe["inner_folds"] * recipe["n_init"]
    assert all(net.n_hidden == chose["chosen"]["n_hidden"] for _, net in model.members)
    # a new image is described as the cross-validation described it, the PCA on every row
    desc = descriptors(f.images)
    pca = DescriptorPCA(chose["n_components"]).fit(desc["lpq"], desc["phog"])
    np.testing.assert_allclose(model.features(f.images), pca.transform(desc["lpq"], desc["phog"]),
                               rtol=0, atol=1e-9)
    loaded = load_pipeline(model.save(tmp_path / "bp-descriptors"), f.class_names)
    assert np.array_equal(loaded.predict_proba(f.images), model.predict_proba(f.images))
