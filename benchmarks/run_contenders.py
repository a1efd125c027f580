"""Claim: the contenders of issue 23 on real SFEW, on ``fer-compare``'s folds.

How: ``--folds`` folds of ``bpnet.splits.make_splits`` (``--split`` stratified or movie
grouped, ``--seed``), built once; each chosen contender (:mod:`resnet_fer.contenders`) is fit
on every fold's training rows and predicts its test rows, exactly as ``fer-compare`` calls
it. Images: the ``cpu-aligned`` preset's eye-aligned 64 px faces
(:func:`resnet_fer.data.load_preset_data`); features: the SFEW.xlsx sheet
(:func:`bpnet.data.sfew.load_sfew_features`), its rows matched to the images by
(name, label). Without the data (``--data``, ``$SFEW_DIR`` or ``../shared/data/sfew`` beside
the clone) it runs on the synthetic faces.

Prints one JSON line per contender: mean accuracy over the folds, its 95 % interval from the
Nadeau-Bengio corrected resampled t (:func:`bpnet.stats.corrected_resampled_t` of the fold
accuracies, which corrects the folds' overlapping training sets), the fold accuracies, the
wall time (descriptors, computed once per image set, have their own line) and the load
average before and after. ``--out FILE`` appends the lines to FILE too.

Run:  python benchmarks/run_contenders.py --split group --models linear-descriptors
      [--data DIR] [--folds 5] [--seed 0] [--device cpu] [--quick] [--out results.jsonl]

Last results: docs/compare.rst, "Contenders measured on SFEW" (2 busy x86_64 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread: the NumPy contenders multiply small matrices, and on a shared 2-core box
# OpenBLAS's threads spin against each other (a softmax-regression fit: 57 s with its default
# threads at load 9, 0.3 s with one). Set OPENBLAS_NUM_THREADS yourself to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread setting, which it reads at import)

#: Where the data lives beside a clone.
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sfew"


@dataclass(frozen=True)
class Options:
    data: Path | None
    split: str
    models: tuple[str, ...]
    folds: int
    seed: int
    device: str
    quick: bool
    out: Path | None


def parse(argv=None) -> Options:
    p = argparse.ArgumentParser(prog="run_contenders", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None, help="SFEW folder (images/, SFEW.xlsx)")
    p.add_argument("--split", choices=("group", "stratified"), default="group")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="each contender's quick recipe")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    data = a.data or (Path(os.environ["SFEW_DIR"]) if os.environ.get("SFEW_DIR") else DEFAULT_DATA)
    if a.data is not None and not (a.data / "images").is_dir():
        p.error(f"--data {a.data}: no images/ folder there")
    return Options(data if (data / "images").is_dir() else None, a.split, tuple(a.models),
                   a.folds, a.seed, a.device, a.quick, a.out)


def load(opts: Options):
    """``(images (n, 64, 64, 3) uint8, y, groups, class_names, X or None, source)``."""
    from resnet_fer.config import get_preset
    from resnet_fer.data import load_preset_data, synthetic_images

    if opts.data is None:
        d = synthetic_images(n_per_class=60, size=64)
        X = np.random.default_rng(0).normal(size=(len(d.y), 10))  # no sheet: noise features
        return d.images.numpy(), np.asarray(d.y), np.asarray(d.groups), d.class_names, X, d.source
    from bpnet.data.sfew import load_sfew_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loaders' notes about the real files' quirks
        d = load_preset_data(opts.data / "images", get_preset("cpu-aligned"), progress=False)
        sheet = load_sfew_features(opts.data / "SFEW.xlsx")
    row = {(n, int(c)): i for i, (n, c) in enumerate(zip(sheet.names, sheet.y))}
    keys = [(n, int(c)) for n, c in zip(d.names, np.asarray(d.y))]
    X = sheet.X[[row[k] for k in keys]] if all(k in row for k in keys) else None
    return (d.images.numpy(), np.asarray(d.y), np.asarray(d.groups), d.class_names, X,
            d.describe())


def main(argv=None) -> int:
    opts = parse(argv)
    from bpnet.splits import make_splits
    from bpnet.stats import corrected_resampled_t
    from resnet_fer.contenders import Fold, get
    from resnet_fer.contenders._descriptor_cache import descriptors

    try:
        contenders = [get(name) for name in opts.models]
    except ValueError as exc:
        print(f"run_contenders: error: {exc}", file=sys.stderr)
        return 2
    images, y, groups, class_names, X, source = load(opts)
    splits = make_splits(opts.split, y, groups, opts.folds, opts.seed)

    def emit(line: dict) -> None:
        text = json.dumps(line)
        print(text, flush=True)
        if opts.out is not None:
            with open(opts.out, "a") as handle:
                handle.write(text + "\n")

    if any(c.input == "descriptors" for c in contenders):
        t0 = time.perf_counter()
        descriptors(images)
        emit({"model": "(descriptors: LPQ + PHOG + HOG of every image)",
              "wall_seconds": round(time.perf_counter() - t0, 1), "data": source})
    for c in contenders:
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        recipe = c.recipe(opts.device, opts.quick)
        fits = []
        for k, (tr, te) in enumerate(splits):
            seed = int(np.random.SeedSequence([opts.seed, k]).generate_state(1)[0])
            fold = Fold(np.asarray(tr), np.asarray(te), y, groups, tuple(class_names),
                        X=X, images=images, index=k, seed=seed, device=opts.device)
            fits.append(c.fit_fold(fold, recipe))
            print(f"{c.name}: fold {k + 1}/{len(splits)} {fits[-1].result.test_accuracy:.3f} "
                  f"({time.perf_counter() - t0:.0f} s so far)", file=sys.stderr, flush=True)
        acc = np.array([f.result.test_accuracy for f in fits])
        n_tr = np.mean([len(tr) for tr, _ in splits])
        n_te = np.mean([len(te) for _, te in splits])
        t = corrected_resampled_t(acc, n_tr, n_te)
        emit({"model": c.name, "split": opts.split, "folds": opts.folds, "seed": opts.seed,
              "quick": opts.quick, "accuracy_mean": round(float(acc.mean()), 4),
              "ci95_corrected": [round(t.ci_low, 4), round(t.ci_high, 4)],
              "fold_accuracies": [round(float(a), 4) for a in acc],
              "wall_seconds": round(time.perf_counter() - t0, 1),
              "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)],
              "info": [f.info for f in fits], "data": source})
    return 0


if __name__ == "__main__":
    sys.exit(main())
