"""fer-compare end to end on a tiny synthetic configuration: files, numbers, folds, resume."""
import json
import re

import numpy as np
import pytest

pytest.importorskip("torch")

from bpnet.comparison import ComparisonResult  # noqa: E402
from resnet_fer import compare  # noqa: E402

TINY = ["--quick", "--synthetic-per-class", "6", "--folds", "2", "--no-progress"]
# Template phrases that hold digits of their own (figure numbers, the model's name...)
TEMPLATE = [r"Fig\. \d", r"Tables 1-2", r"95 % interval", r"8 BasicBlocks", r"ResNet-18",
            r"\+-1 sd", r"\bfig\d_\w+\.png", r"Demšar 2006"]


def _json_numbers(node, out: set[str]) -> None:
    """Every way the report may print a number of results.json (and digits in its strings)."""
    if isinstance(node, dict):
        for v in node.values():
            _json_numbers(v, out)
    elif isinstance(node, list):
        for v in node:
            _json_numbers(v, out)
    elif isinstance(node, str):
        out.update(re.findall(r"\d+(?:\.\d+)?", node))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        for v in (node, -node):
            out.update({f"{v:g}", f"{v:.0f}", f"{v:.2f}", f"{v:.3f}", f"{v:.3g}", f"{100 * v:.1f}",
                        f"{v:.1%}".rstrip("%")})
            if float(v).is_integer():
                out.add(str(int(v)))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    return out


def test_writes_every_file_and_a_self_contained_html(finished_run):
    figures = {"fig1_normalisation.png", "fig2_optimisers.png", "fig4_pruning.png",
               "fig5_loss.png", "fig6_accuracy.png", "confusion.png", "critical_difference.png",
               "reliability.png"}
    names = {"results.json", "report.md", "report.html"} | figures
    assert names <= {p.name for p in finished_run.iterdir()}
    page = (finished_run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(figures)
    assert not re.search(r"<img[^>]+src=['\"](?!data:)", page)  # nothing to fetch: opens offline


def test_every_number_in_the_report_comes_from_results_json(finished_run):
    doc = json.loads((finished_run / "results.json").read_text())
    allowed: set[str] = set()
    _json_numbers(doc, allowed)
    text = (finished_run / "report.md").read_text()
    for phrase in TEMPLATE:
        text = re.sub(phrase, " ", text)
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    assert numbers  # the report does print numbers
    unexplained = sorted({n for n in numbers if n not in allowed and n.lstrip("-") not in allowed})
    assert unexplained == []


def test_every_model_scored_the_same_samples_in_every_fold(finished_run):
    res = ComparisonResult.from_json(finished_run / "results.json")
    bp, resnet = res.model("bp-paper").result, res.model("resnet18").result
    assert bp.sample_ids == resnet.sample_ids
    assert len(bp.folds) == len(resnet.folds) == 2
    for k, (a, b) in enumerate(zip(bp.folds, resnet.folds)):
        np.testing.assert_array_equal(a.test_idx, b.test_idx)
        assert [bp.sample_ids[i] for i in a.test_idx] == list(res.splits.test_ids[k])
    tested = np.concatenate([f.test_idx for f in bp.folds])
    assert sorted(tested.tolist()) == list(range(bp.n_samples))  # every sample exactly once


def test_results_json_round_trips_and_scores_are_probabilities(finished_run):
    text = (finished_run / "results.json").read_text()
    res = ComparisonResult.from_json(text)
    assert res.to_json() == text
    assert res.statistics.pairs and res.studies is not None
    for run in res.models:
        for fold in run.result.folds:
            np.testing.assert_allclose(fold.scores.sum(1), 1.0, atol=1e-9)
            assert np.all(fold.scores >= 0)
            np.testing.assert_array_equal(fold.scores.argmax(1), fold.y_pred)


def test_a_finished_run_is_not_overwritten_and_resume_reuses_it(finished_run, capsys):
    before = (finished_run / "results.json").read_text()
    assert compare.main([*TINY, "--out", str(finished_run)]) == 2
    assert "finished fer-compare run; use --resume" in capsys.readouterr().err
    assert compare.main([*TINY, "--out", str(finished_run), "--resume"]) == 0
    out = capsys.readouterr().out
    for stage in ("bp-paper", "studies", "resnet18"):
        assert f"{stage}: reused" in out
    after = json.loads((finished_run / "results.json").read_text())
    assert after["models"] == json.loads(before)["models"]
    assert after["studies"] == json.loads(before)["studies"]
    # other settings are refused, not mixed into the old run
    assert compare.main([*TINY, "--out", str(finished_run), "--resume", "--seed", "1"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_an_interrupted_resnet_stage_resumes_from_its_fold_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    for stage in (out / "stages" / "resnet18").glob("r0-f*.json"):
        stage.unlink()  # as if killed after the folds' checkpoints
    ckpt = sorted((out / "folds" / "resnet18").glob("r0-f*/checkpoints/fold*.pt"))
    assert len(ckpt) == 2
    stamp = [p.stat().st_mtime_ns for p in ckpt]
    assert compare.main([*TINY, "--out", str(out), "--resume"]) == 0
    assert [p.stat().st_mtime_ns for p in ckpt] == stamp  # finished folds were not retrained


def test_user_mistakes_get_one_line(tmp_path, capsys):
    assert compare.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-compare: error: --data") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as stop:
        compare.main(["--folds", "1"])
    assert stop.value.code == 2
    capsys.readouterr()
    assert compare.main(["--preset", "cpu-aligned", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-compare: error: --preset cpu-aligned") and err.count("\n") == 1


def test_the_recipe_follows_the_device_and_the_data():
    from resnet_fer.config import TrainConfig, get_preset

    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=True, quick=False)
    assert preset is None and recipe["batch_size"] == 32 and "synthetic" in why
    assert compare.resnet_recipe("cuda", synthetic=True, quick=False)[0] == recipe
    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=False, quick=False)
    assert preset == "cpu-aligned"
    assert TrainConfig.from_dict(recipe) == get_preset("cpu-aligned").train
    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=False, quick=False,
                                                 preset="none")
    assert preset is None and recipe["size"] == 64 and "whole frames" in why
    assert compare.resnet_recipe("cuda", synthetic=False, quick=False)[:3:2] == ({}, None)
    assert compare.resnet_recipe("cuda", synthetic=False, quick=True)[0]["epochs"] == 2


def test_models_are_chosen_by_name_and_listed(tmp_path, capsys):
    assert compare.main(["--list-models"]) == 0
    listing = capsys.readouterr().out
    assert "bp-paper" in listing and "resnet18" in listing and "[features]" in listing
    assert compare.main(["--models", "bp-paper,nope", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-compare: error: no model called 'nope'") and "bp-paper" in err
    assert err.count("\n") == 1


def test_repeats_give_every_model_the_same_r_times_k_folds(tmp_path, capsys):
    out = tmp_path / "rep"
    assert compare.main([*TINY, "--repeats", "2", "--models", "bp-paper,resnet18",
                         "--out", str(out)]) == 0
    res = ComparisonResult.from_json(out / "results.json")
    assert res.splits.repeats == 2 and len(res.splits.test_ids) == 4
    assert res.splits.test_ids[:2] != res.splits.test_ids[2:]  # a fresh split per repeat
    for run in res.models:
        assert len(run.result.folds) == 4
        for r in range(2):  # each repeat tests every sample once
            idx = np.concatenate([f.test_idx for f in run.result.folds[2 * r:2 * r + 2]])
            assert sorted(idx.tolist()) == list(range(res.data.n))
    pair = res.statistics.pairs[0]
    assert pair.t_test.n_folds == 4 and pair.mcnemar.n_repeats == 2
    # resume is per (model, repeat, fold): a lost fold is refitted, the others reused
    (out / "stages" / "bp-paper" / "r1-f0.json").unlink()
    assert compare.main([*TINY, "--repeats", "2", "--models", "bp-paper,resnet18",
                         "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "bp-paper: reused 3 of 4 folds" in printed and "resnet18: reused 4 of 4" in printed


def test_repeats_default_to_more_when_every_model_is_cheap(tmp_path):
    from resnet_fer.contenders import get

    assert compare.default_repeats([get("bp-paper"), get("linear-descriptors")]) == compare.CHEAP_REPEATS > 1
    assert compare.default_repeats([get("bp-paper"), get("resnet18")]) == 1
    out = tmp_path / "cheap"
    assert compare.main([*TINY, "--models", "bp-paper", "--out", str(out)]) == 0
    res = ComparisonResult.from_json(out / "results.json")
    assert res.splits.repeats == compare.CHEAP_REPEATS
    assert len(res.model("bp-paper").result.folds) == 2 * compare.CHEAP_REPEATS
    assert res.settings["repeats"] == compare.CHEAP_REPEATS  # what --resume compares


def test_the_papers_values_appear_only_for_sfew(finished_run, tmp_path):
    from dataclasses import replace

    from resnet_fer.compare_stages import is_sfew
    from resnet_fer.paper_values import PAPER
    from resnet_fer.report import render

    res = ComparisonResult.from_json(finished_run / "results.json")
    text = render(res, {}, "markdown")
    assert "not comparable" in text and "(0.03)" not in text and "paper reports" not in text
    sfew = replace(res, paper=PAPER, data=replace(res.data, is_sfew=True))
    text = render(sfew, {}, "markdown")
    assert "not comparable" not in text and "paper reports" in text
    assert "(0.03)" in text  # bp-paper's Angry precision, published
    classes = PAPER["class_names"]
    folder = tmp_path / "images"
    folder.mkdir()
    assert is_sfew(str(folder), classes, 675, flag=False)
    assert not is_sfew(str(folder), classes, 42, flag=False)
    assert not is_sfew(None, classes, 675, flag=False)  # the synthetic faces
    assert is_sfew(None, classes, 42, flag=True)  # --sfew says so


def test_quick_report_has_no_conclusion_but_a_full_one_names_the_best_and_the_method(
        finished_run):
    from dataclasses import replace

    from resnet_fer.report import render

    res = ComparisonResult.from_json(finished_run / "results.json")
    assert "## Conclusion" not in render(res, {}, "markdown")
    full = render(replace(res, settings={**res.settings, "quick": False}), {}, "markdown")
    conclusion = full.split("## Conclusion")[1].split("##")[0]
    assert f"most accurate model is {res.statistics.best}" in conclusion
    assert "corrected resampled t-test" in conclusion and "Holm" in conclusion
    assert "stratified split" in conclusion


def test_loading_takes_a_source_and_options_and_stages_return_new_data(tmp_path):
    import dataclasses

    from bpnet.outdir import RunDir
    from resnet_fer.compare_checks import checked_splits, keep_present_classes

    with RunDir(tmp_path / "run", "fer-compare") as run:
        data = compare.load_data(None, None, size=64, run=run, progress=False,
                                 synthetic_per_class=4, seed=1)
    assert data.source == "synthetic faces (seed 1)" and len(data.y) == 4 * 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.notes = ()
    six = dataclasses.replace(data, y=np.where(data.y == 6, 5, data.y))  # no class 6 left
    kept = keep_present_classes(six)
    assert len(kept.class_names) == 6 and len(six.class_names) == 7  # a copy, input as it was
    assert six.notes == data.notes and len(kept.notes) == len(data.notes) + 1
    splits, notes = checked_splits(kept, "stratified", 2, 0, repeats=2)
    assert len(splits) == 4 and notes == []
