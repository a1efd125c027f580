"""``fer-compare``: the study in one command. Several models, the same data and folds, one report.

::

    fer-compare                                   # built-in synthetic faces, CPU, < 3 minutes
    fer-compare --list-models
    fer-compare --data SFEW/images --features SFEW/SFEW.xlsx --split group --repeats 3 \\
                --models bp-paper,resnet18 --out runs/sfew

Stages: (1) data: images, and the 10 features per image (the sheet given by ``--features``,
else LPQ and PHOG principal components computed from the images), matched by sample id
(``"<Class>/<name>"``); (2) R x k splits over those samples (``--repeats``, ``--folds``),
handed to every model; (3) each contender of :mod:`resnet_fer.contenders` on every
(repeat, fold), each fold saved as it finishes; (4) with ``bp-paper``, the paper's side
studies of the BP network (Figs. 1, 2 and 4); (5) the typed
:class:`~bpnet.comparison.ComparisonResult` with its statistics, and the report read from it:
``results.json``, ``report.md``, a self-contained ``report.html`` and the figures.
``--resume`` reuses finished folds and stages; a finished ``--out`` is never overwritten
without ``--resume`` or ``--force``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bpnet.cli_tools import (  # noqa: F401 (import_error_message re-exported)
    check_output_arguments,
    import_error_message,
    run_command,
)
from bpnet.digest import input_digests
from bpnet.environment import check_matplotlib
from bpnet.outdir import RunDir

from .compare_checks import check_inputs, check_savable, checked_splits, keep_present_classes, say_notes
from .config import PRESETS, get_preset
from .contenders.resnet import resnet_recipe
from .stagefile import check_feature_rows, check_splits, read_stage

__all__ = ["main", "resnet_recipe", "run_comparison"]

TOOL = "fer-compare"


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


def blas_threads(threads: int):
    """A context that gives NumPy's BLAS ``threads`` threads, as torch gets, where it can.

    The BP network's arrays are small (hundreds of rows, tens to a hundred units): BLAS
    threads cost more in synchronisation than they gain, and on a busy machine they stall.
    The wide pruning study of ``--quick`` took 13.6 s of CPU with the default BLAS threads
    on a loaded 2-core machine and 2.9 s with one. Uses ``threadpoolctl`` when it is
    installed (it is not a dependency); otherwise BLAS keeps its own setting.
    """
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


#: measured wall times (s) of the default synthetic run on 2 cores, one torch thread:
#: (idle, every core busy with another process) for the full run and for ``--quick``
#: (benchmarks/bench_threads.py --full; docs/compare.rst, "Threads")
MEASURED_SECONDS = {"default": (144.0, 249.0), "quick": (23.0, 47.0)}


def expected_time(device: str, synthetic: bool, quick: bool, folds: int) -> str | None:
    """The banner's estimate, from the measured runs, or None where nothing was measured.

    ``folds`` counts every fold of every repeat (R x k); the measured runs had 5.
    """
    if device != "cpu" or not synthetic:
        return None
    idle, busy = MEASURED_SECONDS["quick" if quick else "default"]
    scale = folds / 5  # the ResNet's folds are most of the time, and each costs the same

    def human(seconds: float) -> str:
        return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"

    return (f"about {human(idle * scale)} on 2 idle cores, {human(busy * scale)} with every "
            "core busy (measured; more cores are not used by default)")


@dataclass(frozen=True)
class Data:
    """The samples every model sees, in one order (frozen: a stage that changes them, such
    as :func:`~resnet_fer.compare_checks.keep_present_classes`, returns a new one)."""

    images: Any  # uint8 (n, H, W, 3)
    X: np.ndarray  # (n, d) features
    y: np.ndarray
    groups: np.ndarray
    ids: list[str]
    class_names: tuple[str, ...]
    feature_names: list[str]
    source: str
    notes: tuple[str, ...] = ()


def load_data(source: str | Path | None, features: str | Path | None, *, size: int,
              run: RunDir, progress: bool, preset: str | None = None,
              synthetic_per_class: int = 60, seed: int = 0) -> Data:
    """Images and features, matched by sample id.

    Parameters
    ----------
    source : str, Path or None
        The image folder (``--data``); None: synthetic faces, ``synthetic_per_class`` of
        each expression drawn with ``seed``.
    features : str, Path or None
        The feature sheet (``--features``); None: computed from the images (cached as
        ``features.csv`` in ``run``, reused on resume).
    size : int
        Side of the decoded images without a ``preset``; with one, the images are decoded
        (and cropped) as that preset says.
    """
    from bpnet.data.features import extract_features, image_dataset_features
    from bpnet.data.sfew import load_sfew_features, one_line, save_features_csv

    notes: list[str] = []
    if source is None:
        from bpnet.data.synthetic import synthetic_faces

        faces = synthetic_faces(n_per_class=synthetic_per_class, size=64, seed=seed)
        feats = image_dataset_features(faces, progress=progress)
        return Data(faces.images, feats.X, faces.y, faces.groups, faces.sample_ids,
                    tuple(faces.class_names), list(feats.feature_names),
                    f"synthetic faces (seed {seed})", tuple(notes))
    from .data import load_image_folder, load_preset_data

    root = Path(source)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: no such folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if preset is None:
            images = load_image_folder(root, size=size, progress=progress)
        else:
            images = load_preset_data(root, get_preset(preset), progress=progress)
            notes.append(f"ResNet images: preset {preset}, {images.describe()}")
        if features is not None:
            sheet = Path(features)
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
    notes += [one_line(str(w.message)) for w in caught if issubclass(w.category, UserWarning)]
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
                str(root), tuple(dict.fromkeys(notes)))  # one note per quirk


def list_models(device: str) -> str:
    """``--list-models``: every contender, its input, and whether it runs by default here."""
    from . import contenders

    default = {c.name for c in contenders.available(device)}
    width = max(len(n) for n in contenders.registry())
    lines = [f"models (default on {device}: marked *):"]
    for c in contenders.registry().values():
        mark = "*" if c.name in default else " "
        lines.append(f" {mark} {c.name:<{width}}  [{c.input}]  {c.description}")
    return "\n".join(lines)


def run_comparison(args: argparse.Namespace) -> Path:
    """Run every stage into ``args.out``; returns the report's path."""
    import torch  # first: a missing PyTorch is reported before any work

    import bpnet
    from bpnet.comparison import Studies

    from .compare_stages import build_result, choose_models, fit_model, is_sfew, reuse_or_compute, run_studies
    from .paper_values import PAPER
    from .report import write_report

    t_start = time.perf_counter()
    threads = args.threads if args.threads is not None else default_threads()
    torch.set_num_threads(threads)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here "
                         "(torch.cuda.is_available() is False); use --device cpu")
    chosen = choose_models(args.models, device)
    if args.save_models:  # refused before any work, not after the cross-validation
        check_savable([c.name for c in chosen], args.features)
    repeats = args.repeats if args.repeats is not None else default_repeats(chosen)
    recipes = {c.name: c.resolve_recipe(device, args.quick, args.data is None, args.preset)
               for c in chosen}
    preset = next((r["preset"] for r, _ in recipes.values() if r.get("preset")), None)
    size = next((r["image_size"] for r, _ in recipes.values() if "image_size" in r), 64)
    check_inputs(args.data, args.features)  # before the output folder is opened
    check_matplotlib()  # the figures come last: a bad MPLBACKEND is found first
    settings = {"data": args.data, "features": args.features, "split": args.split,
                "folds": args.folds, "repeats": repeats, "seed": args.seed,
                "quick": args.quick, "device": device, "preset": preset, "sfew": args.sfew,
                "synthetic_per_class": args.synthetic_per_class,
                "models": [c.name for c in chosen],
                "recipes": {name: r for name, (r, _) in recipes.items()}}
    progress = not args.no_progress
    timing: dict[str, float] = {}

    def say(text: str) -> None:
        print(text, flush=True)

    with RunDir(args.out, TOOL, resume=args.resume, force=args.force, settings=settings,
                inputs=input_digests(args.data, [args.features])) as run, \
            blas_threads(threads):
        say(f"fer-compare: {'resuming ' if run.resumed else ''}into {run.path}; models: "
            + ", ".join(c.name for c in chosen))
        for name, (_, why) in recipes.items():
            say(f"  {name} recipe: {why}")
        guess = expected_time(device, args.data is None, args.quick, args.folds * repeats)
        if guess:
            say(f"  expected time: {guess}")
        say("[1/5] data")
        t0 = time.perf_counter()
        data = keep_present_classes(load_data(
            args.data, args.features, size=size, run=run, progress=progress, preset=preset,
            synthetic_per_class=args.synthetic_per_class, seed=args.seed))
        splits, split_notes = checked_splits(data, args.split, args.folds, args.seed, repeats,
                                             allow_missing=args.allow_missing_classes)
        # one note per quirk: a split note that every repeat raises is said once
        data = replace(data, notes=tuple(dict.fromkeys(data.notes + tuple(split_notes))))
        say_notes(data.notes)
        timing["data"] = time.perf_counter() - t0
        say(f"  {len(data.y)} images, {data.X.shape[1]} features each, "
            f"{len(np.unique(data.groups))} groups")
        say(f"[2/5] {repeats} x {args.folds}-fold {args.split} split, the same for "
            "every model")
        test_ids = [[data.ids[i] for i in te] for _, te in splits]
        saved = reuse_or_compute(run, "splits", lambda: {"test_ids": test_ids}, say, dict, dict,
                                 check=check_splits)
        if saved["test_ids"] != test_ids:
            raise ValueError(f"cannot resume {run.path}: the data or split changed since the "
                             "run started; use --force to start over")
        say(f"[3/5] models on {len(splits)} folds, {device}")
        models = []
        for c in chosen:
            recipe, why = recipes[c.name]
            t0 = time.perf_counter()
            models.append(fit_model(c, recipe, why, data, splits, args.folds, run,
                                    seed=args.seed, device=device, progress=progress, say=say))
            timing[c.name] = time.perf_counter() - t0
        studies = None
        bp = next((m for m in models if m.name == "bp-paper"), None)
        if bp is not None:
            say("[4/5] the BP network's side studies (optimisers, normalisation, pruning)")
            t0 = time.perf_counter()
            studies = reuse_or_compute(run, "studies", lambda: run_studies(
                bp, data, splits, args.folds, args.quick, args.seed, progress), say,
                lambda s: s.to_dict(), Studies.from_dict)
            timing["studies"] = time.perf_counter() - t0
        say("[5/5] statistics and report")
        sfew = is_sfew(args.data, data.class_names, len(data.y), args.sfew)
        result = build_result(
            settings=settings, versions={"bpnet-fer": bpnet.__version__,
                                         "numpy": np.__version__, "torch": torch.__version__},
            data=data, splits=splits, k=args.folds, repeats=repeats, seed=args.seed,
            kind=args.split, models=models, studies=studies, is_sfew=sfew,
            paper=PAPER if sfew else None, timing=timing)
        paths = write_report(result, run)
        if args.save_models:  # each recipe refitted on every row, with its model card
            from .final import save_compare_models

            say("[+] final models")
            written = save_compare_models(run, data, result, device, progress, say)
            paths.update({p.name: p for p in written})
        run.finish()
    total = time.perf_counter() - t_start
    board = ", ".join(f"{m.model} {m.metric('accuracy')[0]:.1%}"
                      for m in result.statistics.metrics)
    say(f"test accuracy: {board} ({repeats} x {args.folds}-fold "
        f"{args.split}{'; smoke run, not a result' if args.quick else ''}); "
        f"done in {total // 60:.0f} min {total % 60:.0f} s")
    say("wrote " + ", ".join(p.name for p in paths.values()) + f" in {run.path}")
    return paths["markdown"]

#: ``--repeats`` when no image model runs: the BP and linear models fit 5 folds in seconds,
#: and more repeats narrow the corrected interval (an image model's repeat takes minutes)
CHEAP_REPEATS = 3


def default_repeats(chosen) -> int:
    """``--repeats`` when not given: :data:`CHEAP_REPEATS` when no chosen contender reads the
    images, else 1 (every model shares the splits, so the dearest one sets R)."""
    return 1 if any(c.input == "images" for c in chosen) else CHEAP_REPEATS


def build_parser() -> argparse.ArgumentParser:
    from bpnet import __version__
    from bpnet.cli_tools import (
        HelpFormatter,
        add_output_arguments,
        add_progress_argument,
        add_seed_argument,
        add_split_arguments,
    )

    parser = argparse.ArgumentParser(
        prog=TOOL, description="Several models (the paper's BP network on 10 features per image, "
        "the ResNet on the images, ...) on the same data and repeated folds, with statistics "
        "and the paper's report.",
        formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{TOOL} {__version__}")
    parser.add_argument("--data", metavar="IMAGE_DIR", help="<Emotion>/<name>.{png,jpg} folder "
                        "(default: the built-in synthetic faces)")
    parser.add_argument("--features", metavar="SHEET", help="the feature sheet (SFEW.xlsx or "
                        "CSV) of the same images; default: computed from the images")
    add_split_arguments(parser, folds=5, folds_help="folds per repeat, the same for every model",
                        split_help="stratified k-fold, or grouped by movie/person "
                                   "(person-independent)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of the k-fold "
                        "split, each with its own seed (R x k folds; every model gets the "
                        f"same); default: {CHEAP_REPEATS} when every model is cheap (no image "
                        "model), else 1")
    parser.add_argument("--models", metavar="A,B,...", help="contenders to compare "
                        "(comma-separated; default: those marked in --list-models)")
    parser.add_argument("--list-models", action="store_true",
                        help="list the contenders and which run by default here, then exit")
    parser.add_argument("--sfew", action="store_true", help="the data is SFEW: show the "
                        "paper's published values beside this run's (detected for an image "
                        "folder of SFEW's 7 classes and 600-750 images)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--preset", default="auto", choices=("auto", "none", *PRESETS),
                        help="ResNet recipe for --data: auto (CPU: cpu-aligned; CUDA: whole "
                        "frames at 224 px), none (whole frames), or a named preset")
    parser.add_argument("--threads", type=int, help="CPU threads of torch (default: 1, the "
                        "cheapest for these small networks; or OMP_NUM_THREADS if set)")
    add_seed_argument(parser, "split, initial weights, order")
    parser.add_argument("--synthetic-per-class", type=int, default=60,
                        help="synthetic faces per expression (without --data)")
    parser.add_argument("--allow-missing-classes", action="store_true",
                        help="go on when a fold lacks a class (the report notes it per fold)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run in seconds (2 ResNet epochs): not a result")
    parser.add_argument("--save-models", action="store_true", help="after cross-validation, "
                        "refit each model on all rows and save it (with a model card) to <out>/models/ "
                        "for fer-predict")
    add_output_arguments(parser, out_help="output folder", default="fer-compare-out",
                         resume_help="reuse finished stages and folds",
                         force_help="start over in a finished --out")
    add_progress_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fer-compare`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_models:
        import torch

        print(list_models("cuda" if torch.cuda.is_available() else "cpu"))
        return 0
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.synthetic_per_class < 1:
        parser.error(f"--synthetic-per-class must be at least 1, got {args.synthetic_per_class}")
    check_output_arguments(parser, args)
    def work() -> None:
        run_comparison(args)

    return run_command(TOOL, work, interrupted="run the same command with --resume to continue")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
