"""``fer-compare``: the study in one command. Both branches, the same data and folds, one report.

::

    fer-compare                                   # built-in synthetic faces, CPU, < 3 minutes
    fer-compare --data SFEW/images --features SFEW/SFEW.xlsx --split group --out runs/sfew

Stages: (1) data: images, and the 10 features per image (the sheet given by ``--features``,
else LPQ and PHOG principal components computed from the images), matched by sample id
(``"<Class>/<name>"``); (2) one split over those samples, handed to both branches;
(3) the BP network (:func:`bpnet.cross_validate`, the paper's network with its pruning,
plus the optimiser comparison of Fig. 2 and a pruning setting that really removes units);
(4) the ResNet (:func:`resnet_fer.train.cross_validate`, per-fold checkpoints); (5) the report:
``results.json`` (every number), ``report.md``, a self-contained ``report.html`` and the
figures. ``--resume`` reuses finished stages and folds; a finished ``--out`` is never
overwritten without ``--resume`` or ``--force``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bpnet.digest import input_digests
from bpnet.environment import check_matplotlib
from bpnet.outdir import RunDir, RunDirError

from .compare_checks import check_inputs, checked_splits, keep_present_classes, say_notes
from .config import PRESETS, TrainConfig, get_preset
from .stagefile import (
    check_feature_rows,
    check_optimisers,
    check_pruned,
    check_splits,
    read_stage,
)

__all__ = ["Comparison", "main", "resnet_recipe"]

TOOL = "fer-compare"
BP_SETTINGS = {"n_hidden": 32, "hidden": "sigmoid", "output": "sigmoid", "loss": "mse",
               "optimizer": "adam", "lr": 0.01, "epochs": 1000}
#: Fig. 2, the same effective step for SGD and momentum (lr / (1 - momentum)), Adam at its own
OPTIMISERS = (("SGD", {"optimizer": "sgd", "lr": 1.0, "momentum": 0.0}),
              ("SGD + momentum 0.9", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}),
              ("Adam", {"optimizer": "adam", "lr": 0.01}))
#: Fig. 4b, a setting where distinctiveness pruning does remove units (a wide network whose
#: many units see only 10 inputs, so some become near-duplicates), with the paper's rule.
WIDE_PRUNING = {"n_hidden": 128, "epochs": 300, "epochs_per_round": 20, "max_per_round": 4}


def default_threads() -> int:
    """Torch's CPU threads for a run without ``--threads``: 1, unless ``OMP_NUM_THREADS`` says.

    The networks of this study are small (a 48-64 px ResNet of width 32, batches of 32), too
    small for torch's intra-op threads to pay for their synchronisation: on 2 cores one thread
    costs 2.6x less CPU time than two on an idle machine and 3.3x less with every core busy,
    and is not slower in wall time (benchmarks/bench_threads.py, docs/compare.rst "Threads").
    A user who sets ``OMP_NUM_THREADS`` gets torch's own choice from it.
    """
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    return 1


#: measured wall times (s) of the default synthetic run on 2 cores, one torch thread:
#: (idle, every core busy with another process) for the full run and for ``--quick``
#: (benchmarks/bench_threads.py --full; docs/compare.rst, "Threads")
MEASURED_SECONDS = {"default": (120.0, 240.0), "quick": (14.0, 30.0)}


def expected_time(device: str, synthetic: bool, quick: bool, folds: int) -> str | None:
    """The banner's estimate, from the measured runs, or None where nothing was measured."""
    if device != "cpu" or not synthetic:
        return None
    idle, busy = MEASURED_SECONDS["quick" if quick else "default"]
    scale = folds / 5  # the ResNet's folds are most of the time

    def human(seconds: float) -> str:
        return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"

    return (f"about {human(idle * scale)} on 2 idle cores, {human(busy * scale)} with every "
            "core busy (measured; more cores are not used by default)")


def resnet_recipe(device: str, synthetic: bool, quick: bool,
                  preset: str = "auto") -> tuple[dict[str, Any], str, str | None]:
    """The ResNet settings for this device and data, a sentence saying why, and the preset.

    ``preset`` ``"auto"`` chooses: on the synthetic faces a small plain recipe that finishes
    in minutes (at this scale mixup, cutmix and dropout under-fit); with real images on CUDA
    the default :class:`~resnet_fer.config.TrainConfig` (whole frames), on the CPU the
    ``cpu-aligned`` preset (eye-aligned crops, the best CPU recipe of docs/resnet.rst).
    ``"none"`` trains on whole frames; any other name is one of
    :data:`resnet_fer.config.PRESETS`, whose crop setting applies to ``--data`` images.
    Returns ``(TrainConfig keyword arguments, why, preset name or None)``.
    """
    plain = {"dropout": 0.0, "augment": {"mix_prob": 0.0}}
    if quick:
        return ({"size": 32, "stem": "small", "width": 8, "epochs": 2, "batch_size": 32, **plain},
                "--quick: a 2-epoch smoke run, not a result", None)
    if preset not in ("auto", "none"):
        if synthetic:
            raise ValueError(f"--preset {preset}: presets crop real faces; give --data too "
                             "(the synthetic faces use their own recipe)")
        chosen = get_preset(preset)
        return chosen.train.to_dict(), f"preset {preset}: {chosen.description}", preset
    if synthetic:  # 64 px drawings: the same small recipe on any device
        return ({"size": 48, "stem": "imagenet", "width": 32, "epochs": 20, "batch_size": 32,
                 **plain},
                "synthetic faces: 48 px, width 32, batch 32, 20 epochs, plain recipe (a few "
                "minutes on 2 CPU cores)", None)
    if device == "cuda":
        return {}, "CUDA: the default recipe (224 px whole frames, ImageNet stem, width 64)", None
    if preset == "none":
        return ({"size": 64, "stem": "imagenet", "width": 32, "epochs": 60, **plain},
                "CPU: 64 px whole frames, width 32, 60 epochs, plain recipe (docs/resnet.rst)",
                None)
    chosen = get_preset("cpu-aligned")
    return (chosen.train.to_dict(), f"CPU: preset cpu-aligned ({chosen.description})",
            "cpu-aligned")


@dataclass
class Data:
    """The samples both branches see, in one order."""

    images: Any  # uint8 (n, H, W, 3)
    X: np.ndarray  # (n, d) features
    y: np.ndarray
    groups: np.ndarray
    ids: list[str]
    class_names: tuple[str, ...]
    feature_names: list[str]
    source: str
    notes: list[str] = field(default_factory=list)


def load_data(args: argparse.Namespace, size: int, run: RunDir, progress: bool,
              preset: str | None = None) -> Data:
    """Images and features, matched by sample id; synthetic faces without ``--data``.

    With a ``preset`` the images are decoded (and cropped) as that preset says.
    """
    from bpnet.data.features import extract_features, image_dataset_features
    from bpnet.data.sfew import load_sfew_features, save_features_csv

    notes: list[str] = []
    if args.data is None:
        from bpnet.data.synthetic import synthetic_faces

        faces = synthetic_faces(n_per_class=args.synthetic_per_class, size=64, seed=args.seed)
        feats = image_dataset_features(faces, progress=progress)
        return Data(faces.images, feats.X, faces.y, faces.groups, faces.sample_ids,
                    tuple(faces.class_names), list(feats.feature_names),
                    f"synthetic faces (seed {args.seed})", notes)
    from .data import load_image_folder, load_preset_data

    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: no such folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if preset is None:
            images = load_image_folder(root, size=size, progress=progress)
        else:
            images = load_preset_data(root, get_preset(preset), progress=progress)
            notes.append(f"ResNet images: preset {preset}, {images.describe()}")
        if args.features is not None:
            sheet = Path(args.features)
            if not sheet.is_file():
                raise FileNotFoundError(f"--features {sheet}: no such file")
            feats = load_sfew_features(sheet)
        else:
            cached = run.path / "features.csv"
            if run.resumed and cached.is_file():
                feats = read_stage(cached, partial(check_feature_rows, images),
                                   load=partial(load_sfew_features, feature_names=None))
            else:
                feats = extract_features(root, progress=progress)
                save_features_csv(feats, run.file("features.csv"))
            notes.append("features computed from the images (LPQ and PHOG, 5 principal "
                         "components each; PCA fitted on all images, labels unused)")
    notes += [str(w.message).replace("\n", " ") for w in caught
              if issubclass(w.category, UserWarning)]
    row = {sid: i for i, sid in enumerate(feats.sample_ids)}
    keep = [i for i, sid in enumerate(images.sample_ids) if sid in row]
    if not keep:
        raise ValueError(f"no image in {root} matches a row of the features (ids "
                         f"'<Class>/<name>', e.g. {images.sample_ids[0]!r})")
    missing = len(images.sample_ids) - len(keep)
    extra_rows = len(row) - len(keep)
    if missing or extra_rows:
        notes.append(f"{missing} image(s) without a feature row and {extra_rows} feature row(s) "
                     "without an image were left out")
    ids = [images.sample_ids[i] for i in keep]
    return Data(images.images.numpy()[keep], feats.X[[row[s] for s in ids]], images.y[keep],
                images.groups[keep], ids, tuple(images.class_names), list(feats.feature_names),
                str(root), list(dict.fromkeys(notes)))  # one note per quirk


class Comparison:
    """One ``fer-compare`` run: its settings, its stages and its output folder."""

    def __init__(self, args: argparse.Namespace, run: RunDir, device: str, progress: bool):
        self.args, self.run, self.device, self.progress = args, run, device, progress
        self.timing: dict[str, float] = {}
        self.doc: dict[str, Any] = {}

    def say(self, text: str) -> None:
        print(text, flush=True)

    def stage(self, name: str, compute, *, reuse: bool = True, check=None):
        """Load ``stages/<name>.json`` when resuming (``check`` accepts it), else compute it
        and save it."""
        path = self.run.path / "stages" / f"{name}.json"
        if reuse and self.run.resumed and path.is_file():
            self.say(f"  {name}: reused from {path}")
            return read_stage(path, check)
        t0 = time.perf_counter()
        value = compute()
        self.timing[name] = time.perf_counter() - t0
        self.run.file("stages").mkdir(exist_ok=True)
        self.run.write_text(f"stages/{name}.json", json.dumps(value, allow_nan=False))
        return value


def _normalisation_data(X: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Histograms of every feature before and after a Normalizer fitted on all rows (Fig. 1)."""
    from bpnet.preprocessing import Normalizer

    norm = Normalizer().fit(X)
    Z = norm.transform(X)

    def hist(col):
        counts, edges = np.histogram(col, bins=30)
        return {"counts": counts.tolist(), "edges": edges.tolist()}

    return {"feature_names": list(names), "log": norm.log_columns_.tolist(),
            "skewness": norm.skewness_.tolist(),
            "before": [hist(X[:, j]) for j in range(X.shape[1])],
            "after": [hist(Z[:, j]) for j in range(Z.shape[1])]}


def _pruning_curve(result_dict: dict[str, Any], label: str, n_hidden: int) -> dict[str, Any]:
    """Fig. 4's points from a pruned cross-validation: one per prune-and-retrain round."""
    from bpnet.prune_retrain import PruningHistory

    extra = result_dict["extra"]
    history = PruningHistory.from_dict(extra["pruning"])
    before = extra["before_pruning"]
    units = [0.0]
    train_loss, test_loss, test_acc = [], [], []
    if history.rounds:
        first = history.rounds[0]
        train_loss.append(float(np.mean(first.train_before[0])))
        test_loss.append(float(np.mean(first.val_before[0])))
        test_acc.append(float(np.mean(first.val_before[1])))
    else:
        test_acc.append(float(np.mean(before["test_accuracy"])))
        train_loss.append(float("nan"))
        test_loss.append(float("nan"))
    n_models = len(before["n_hidden"])
    for rnd in history.rounds:
        units.append(units[-1] + len(rnd.removed) / n_models)
        train_loss.append(float(np.mean(rnd.train_after[0])))
        test_loss.append(float(np.mean(rnd.val_after[0])))
        test_acc.append(float(np.mean(rnd.val_after[1])))
    removed = float(np.mean(np.asarray(before["n_hidden"]) - np.asarray(extra["n_hidden"])))
    if removed == 0:
        comment = ("No unit qualified: with these thresholds every hidden unit stayed distinct, "
                   "so pruning changed nothing.")
    elif removed < 1:
        comment = ("Almost nothing qualified: with these thresholds the units stay distinct and "
                   "pruning barely changes the network.")
    else:
        comment = "Here pruning really removes units."
    return {"label": label, "n_hidden": n_hidden, "units_pruned": units,
            "train_loss": [v if np.isfinite(v) else None for v in train_loss],
            "test_loss": [v if np.isfinite(v) else None for v in test_loss],
            "test_accuracy": test_acc, "units_removed_mean": removed, "comment": comment}


def _bp_stages(cmp: Comparison, data: Data, splits: list, quick: bool) -> None:
    """Stage 3: the BP network (the paper's, pruned), Fig. 2's optimisers, Fig. 4's pruning."""
    import bpnet
    from bpnet.pruning import DistinctivenessPruner

    args, doc = cmp.args, cmp.doc
    bp = dict(BP_SETTINGS, epochs=100 if quick else BP_SETTINGS["epochs"])
    common = {"class_names": data.class_names, "sample_ids": data.ids,
              "random_state": args.seed, "progress": cmp.progress}

    def paper_network():
        res = bpnet.cross_validate(data.X, data.y, splits, prune=DistinctivenessPruner(),
                                   epochs_per_round=50, **common, **bp)
        return res.to_dict()

    cmp.say(f"[3/5] BP network: {bp['n_hidden']} hidden units, {bp['epochs']} epochs, "
            f"{len(splits)} folds as one stack, then distinctiveness pruning (the paper's rule)")
    doc["bp"] = cmp.stage("bp", paper_network, check=check_pruned)

    def optimisers():
        runs = {}
        for name, opt in OPTIMISERS:
            res = bpnet.cross_validate(data.X, data.y, splits, **common, **{**bp, **opt})
            loss = res.curves["train_loss"]
            runs[name] = {"lr": opt["lr"], "train_loss_mean": loss.mean(1).tolist(),
                          "train_loss_sd": loss.std(1).tolist(),
                          "test_accuracy_mean": float(res.summary()["test_accuracy_mean"])}
        return {"runs": runs}

    doc["bp_optimizers"] = cmp.stage("bp_optimizers", optimisers, check=check_optimisers)

    def wide():
        w = WIDE_PRUNING if not quick else {**WIDE_PRUNING, "epochs": 30, "epochs_per_round": 5}
        pruner = DistinctivenessPruner(compensate=True, max_per_round=w["max_per_round"])
        res = bpnet.cross_validate(data.X, data.y, splits, prune=pruner,
                                   epochs_per_round=w["epochs_per_round"], **common,
                                   **{**bp, "n_hidden": w["n_hidden"], "epochs": w["epochs"]})
        return res.to_dict()

    wide_doc = cmp.stage("bp_wide_pruning", wide, check=check_pruned)
    doc["pruning"] = {
        "paper": _pruning_curve(doc["bp"], f"{bp['n_hidden']} units, the paper's rule",
                                bp["n_hidden"]),
        "wide": _pruning_curve(wide_doc, f"{WIDE_PRUNING['n_hidden']} units, same rule, "
                                         "compensated", WIDE_PRUNING["n_hidden"])}
    doc["normalisation"] = _normalisation_data(data.X, data.feature_names)
    bp_settings = dict(bp, n_inputs=data.X.shape[1], dtype="float32", normalize=True)
    doc["settings"]["bp"] = bp_settings


def _resnet_stage(cmp: Comparison, data: Data, splits: list, config) -> None:
    from bpnet.results import CVResult

    from .train import cross_validate

    cmp.say(f"[4/5] ResNet: {config.size} px, width {config.width}, {config.epochs} epochs, "
            f"{len(splits)} folds on {cmp.device}")

    def train():
        res = cross_validate(data.images, data.y, splits, config, cmp.device,
                             progress=cmp.progress, out_dir=cmp.run.file("resnet"),
                             resume=cmp.run.resumed, class_names=data.class_names,
                             sample_ids=data.ids)
        return res.to_dict()

    cmp.doc["resnet"] = cmp.stage("resnet", train, check=CVResult.from_dict)


def _report(cmp: Comparison, data: Data) -> dict[str, Path]:
    from bpnet.results import CVResult

    from .report import PAPER, compare_folds, diagnose, make_figures, render

    doc = cmp.doc
    results = {key: CVResult.from_dict(doc[key]) for key in ("bp", "resnet")}
    summary = {key: r.summary() for key, r in results.items()}
    chance = doc["data"]["chance"]
    doc["summary"] = summary
    doc["comparison"] = {
        "paired": compare_folds(summary["bp"]["fold_test_accuracy"],
                                summary["resnet"]["fold_test_accuracy"]),
        "diagnosis": {key: diagnose(summary[key], r.curves, chance) for key, r in results.items()},
        "confusion": {key: r.confusions.sum(0).tolist() for key, r in results.items()}}
    doc["paper"] = PAPER
    doc["timing"] = {"stages": cmp.timing,
                     "total_seconds": float(sum(cmp.timing.values()))}
    out = cmp.run.path
    for name in ("fig1_normalisation", "fig2_optimisers", "fig4_pruning", "fig5_loss",
                 "fig6_accuracy", "confusion"):
        cmp.run.file(f"{name}.png")
    with cmp.run.writing("the figures"):
        figures = make_figures(doc, out)
    text = json.dumps(doc, allow_nan=False, indent=1)
    paths = {"json": cmp.run.write_text("results.json", text + "\n"),
             "markdown": cmp.run.write_text("report.md", render(doc, figures, "markdown")),
             "html": cmp.run.write_text("report.html", render(doc, figures, "html", out))}
    return {**paths, **{k: out / v for k, v in figures.items()}}


def run_comparison(args: argparse.Namespace) -> Path:
    """Run every stage into ``args.out``; returns the report's path."""
    import torch  # first: a missing PyTorch is reported before any work

    import bpnet

    t_start = time.perf_counter()
    threads = args.threads if args.threads is not None else default_threads()
    torch.set_num_threads(threads)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here "
                         "(torch.cuda.is_available() is False); use --device cpu")
    recipe, why, preset = resnet_recipe(device, args.data is None, args.quick, args.preset)
    config = TrainConfig.from_dict({**recipe, "seed": args.seed})
    check_inputs(args)  # before the output folder is opened
    check_matplotlib()  # the figures come last: a bad MPLBACKEND is found first
    settings = {"data": args.data, "features": args.features, "split": args.split,
                "folds": args.folds, "seed": args.seed, "quick": args.quick, "device": device,
                "preset": preset,
                "synthetic_per_class": args.synthetic_per_class,
                "resnet": config.to_dict(), "resnet_choice": why}
    progress = not args.no_progress
    with RunDir(args.out, TOOL, resume=args.resume, force=args.force, settings=settings,
                inputs=input_digests(args.data, [args.features])) as run:
        cmp = Comparison(args, run, device, progress)
        cmp.doc = {"format": "fer-compare/results", "version": 1, "settings": dict(settings),
                   "versions": {"bpnet-fer": bpnet.__version__, "numpy": np.__version__}}
        cmp.say(f"fer-compare: {'resuming ' if run.resumed else ''}into {run.path}; "
                f"ResNet recipe: {why}")
        guess = expected_time(device, args.data is None, args.quick, args.folds)
        if guess:
            cmp.say(f"  expected time: {guess}")
        cmp.say("[1/5] data")
        t0 = time.perf_counter()
        data = load_data(args, config.size, run, progress, preset)
        keep_present_classes(data)
        splits, split_notes = checked_splits(args, data)
        data.notes += split_notes
        say_notes(data.notes)
        cmp.timing["data"] = time.perf_counter() - t0
        counts = np.bincount(data.y, minlength=len(data.class_names))
        cmp.doc["data"] = {"source": data.source, "n": len(data.y),
                           "class_names": list(data.class_names),
                           "class_counts": counts.tolist(), "groups": len(np.unique(data.groups)),
                           "chance": float(counts.max() / counts.sum()), "notes": data.notes}
        cmp.say(f"  {len(data.y)} images, {data.X.shape[1]} features each, "
                f"{len(np.unique(data.groups))} groups")
        cmp.say(f"[2/5] {args.folds}-fold {args.split} split, the same for both branches")
        test_ids = [[data.ids[i] for i in te] for _, te in splits]
        saved = cmp.stage("splits", lambda: {"test_ids": test_ids},
                          check=check_splits)
        if saved["test_ids"] != test_ids:
            raise ValueError(f"cannot resume {run.path}: the data or split changed since the "
                             "run started; use --force to start over")
        cmp.doc["splits"] = saved
        _bp_stages(cmp, data, splits, args.quick)
        cmp.doc["versions"]["torch"] = torch.__version__
        _resnet_stage(cmp, data, splits, config)
        cmp.say("[5/5] report")
        paths = _report(cmp, data)
        if args.save_models:  # each recipe refitted on every row, with its model card
            from .final import save_compare_models

            cmp.say("[+] final models")
            models = save_compare_models(cmp, data, config, preset)
            paths.update({p.name: p for p in models})
        run.finish()
    total = time.perf_counter() - t_start
    s = cmp.doc["summary"]
    cmp.say(f"BP network {s['bp']['test_accuracy_mean']:.1%}, ResNet "
            f"{s['resnet']['test_accuracy_mean']:.1%} test accuracy ({args.folds}-fold "
            f"{args.split}{'; smoke run, not a result' if args.quick else ''}); "
            f"done in {total // 60:.0f} min {total % 60:.0f} s")
    cmp.say("wrote " + ", ".join(p.name for p in paths.values()) + f" in {run.path}")
    return paths["markdown"]


def build_parser() -> argparse.ArgumentParser:
    from bpnet import __version__
    from bpnet.cli import HelpFormatter

    parser = argparse.ArgumentParser(
        prog=TOOL, description="Both branches of the study (the BP network on 10 features per "
        "image, the ResNet on the images) on the same data and folds, and the paper's report.",
        formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{TOOL} {__version__}")
    parser.add_argument("--data", metavar="IMAGE_DIR", help="<Emotion>/<name>.{png,jpg} folder "
                        "(default: the built-in synthetic faces)")
    parser.add_argument("--features", metavar="SHEET", help="the feature sheet (SFEW.xlsx or "
                        "CSV) of the same images; default: computed from the images")
    parser.add_argument("--split", choices=("stratified", "group"), default="stratified",
                        help="stratified k-fold, or grouped by movie/person (person-independent)")
    parser.add_argument("--folds", type=int, default=5, help="folds, the same for both branches")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--preset", default="auto", choices=("auto", "none", *PRESETS),
                        help="ResNet recipe for --data: auto (CPU: cpu-aligned; CUDA: whole "
                        "frames at 224 px), none (whole frames), or a named preset")
    parser.add_argument("--out", default="fer-compare-out", help="output folder")
    parser.add_argument("--threads", type=int, help="CPU threads of torch (default: 1, the "
                        "cheapest for these small networks; or OMP_NUM_THREADS if set)")
    parser.add_argument("--seed", type=int, default=0, help="split, initial weights, order")
    parser.add_argument("--synthetic-per-class", type=int, default=60,
                        help="synthetic faces per expression (without --data)")
    parser.add_argument("--allow-missing-classes", action="store_true",
                        help="go on when a fold lacks a class (the report notes it per fold)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run in seconds (2 ResNet epochs): not a result")
    parser.add_argument("--save-models", action="store_true", help="after cross-validation, "
                        "refit both recipes on all rows and save them (with model cards) to "
                        "<out>/models/ for fer-predict")
    parser.add_argument("--resume", action="store_true", help="reuse finished stages and folds")
    parser.add_argument("--force", action="store_true", help="start over in a finished --out")
    parser.add_argument("--no-progress", action="store_true")
    return parser


#: top-level modules that the project's ``torch`` extra installs
TORCH_EXTRA_MODULES = frozenset({"torch", "torchvision", "cv2"})


def import_error_message(exc: ImportError) -> str:
    """The missing module as it is, with the install hint only where the extra would help.

    A missing ``torch`` (or another module of the ``torch`` extra) gets the hint; any other
    missing module is named as Python names it, since reinstalling torch would not bring it.
    """
    missing = (exc.name or "").split(".")[0]
    if missing in TORCH_EXTRA_MODULES:
        return f"{exc} (install the project's 'torch' extra: pip install \".[torch]\")"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fer-compare`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.resume and args.force:
        parser.error("use --resume or --force, not both")
    from bpnet.notes import warnings_as_notes

    try:
        with warnings_as_notes():
            run_comparison(args)
    except KeyboardInterrupt:
        print(f"\n{TOOL}: interrupted; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    except ImportError as exc:
        print(f"{TOOL}: error: {import_error_message(exc)}", file=sys.stderr)
        return 2
    except (RunDirError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"{TOOL}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
