"""The ``bpnet`` command line.

``bpnet check``
    Gradient check and PyTorch equivalence of every activation/loss pair and
    optimiser, on the installed package; exits 1 if anything fails.
``bpnet features DIR -o out.csv``
    The paper's dataset 1 (first 5 PCs of LPQ and of PHOG) from an image folder.
``bpnet cv [--data PATH] [--folds 20] [--split stratified|group] [--prune]``
    Cross-validated BP network (all folds trained at once), optionally with
    distinctiveness pruning; prints accuracy and the per-class table.
    ``--data`` is a feature sheet (.xlsx/.csv) or an image folder; without it,
    the built-in synthetic faces.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def _cmd_check(args: argparse.Namespace) -> int:
    from . import selfcheck

    use_torch = selfcheck.have_torch() and not args.no_torch
    if not use_torch:
        print("PyTorch is not installed (or --no-torch): running the finite-difference "
              "checks only. Install the 'torch' extra for the equivalence checks.")
    rows = selfcheck.run_checks(use_torch=use_torch)
    print(selfcheck.format_report(rows))
    failed = [r.name for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _cmd_features(args: argparse.Namespace) -> int:
    import time

    from .data.features import extract_features
    from .data.sfew import save_features_csv

    t0 = time.perf_counter()
    dataset = extract_features(args.folder, size=args.size, n_components=args.components,
                               progress=not args.no_progress)
    path = save_features_csv(dataset, args.output)
    print(f"{dataset}\nwrote {path} in {time.perf_counter() - t0:.1f} s")
    return 0


def load_feature_data(data: str | None, seed: int = 0, progress: bool = True):
    """A FeatureDataset from a sheet, an image folder, or (None) the synthetic faces."""
    from .data.features import extract_features, image_dataset_features
    from .data.sfew import load_sfew_features
    from .data.synthetic import synthetic_faces

    if data is None:
        return image_dataset_features(synthetic_faces(seed=seed), progress=progress)
    path = Path(data)
    if path.is_dir():
        return extract_features(path, progress=progress)
    if not path.is_file():
        raise SystemExit(f"bpnet: --data {data}: no such file or folder")
    return load_sfew_features(path, nan_policy="mean")


def _cmd_cv(args: argparse.Namespace) -> int:
    from .crossval import group_kfold, stratified_kfold
    from .kfold import cross_validate
    from .metrics import format_table
    from .pruning import DistinctivenessPruner

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_feature_data(args.data, seed=args.seed, progress=not args.no_progress)
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    if args.split == "stratified":
        splits = stratified_kfold(ds.y, args.folds, seed=args.seed)
    else:
        splits = group_kfold(ds.y, ds.groups, args.folds, seed=args.seed)
    pruner = (DistinctivenessPruner(args.criterion, compensate=args.compensate)
              if args.prune else False)
    res = cross_validate(ds.X, ds.y, splits, n_hidden=args.hidden, epochs=args.epochs,
                         lr=args.lr, random_state=args.seed, prune=pruner,
                         epochs_per_round=args.epochs_per_round, n_classes=len(ds.class_names),
                         class_names=ds.class_names, sample_ids=ds.sample_ids,
                         progress=not args.no_progress)
    res.settings.update(data=args.data or "synthetic faces", split=args.split, folds=args.folds,
                        split_seed=args.seed)
    summary = {"data": args.data or "synthetic faces", "n": len(ds.y), "split": args.split,
               **{k: v for k, v in res.summary().items() if not isinstance(v, (dict, list))}}
    fmt = "markdown" if args.markdown else "text"
    print(f"{args.folds}-fold {args.split} cross-validation, BP network {ds.X.shape[1]}-"
          f"{args.hidden}-{len(ds.class_names)}, {args.epochs} epochs")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                      for k, v in summary.items()}))
    print(format_table(res.pooled, ds.class_names, fmt=fmt))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        res.to_json(out / "results.json")
        if "pruning" in res.extra:
            from .prune_retrain import PruningHistory, plot_pruning_history

            plot_pruning_history(PruningHistory.from_dict(res.extra["pruning"]),
                                 path=out / "pruning.png")
            (out / "pruning.json").write_text(json.dumps(res.extra["pruning"]))
        print(f"wrote {out}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpnet", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="verify gradients and PyTorch equivalence")
    check.add_argument("--no-torch", action="store_true",
                       help="skip the PyTorch comparisons even if torch is installed")
    check.set_defaults(func=_cmd_check)

    feats = sub.add_parser("features", help="LPQ + PHOG principal components from images")
    feats.add_argument("folder", help="image folder laid out as <Emotion>/<name>.{png,jpg}")
    feats.add_argument("-o", "--output", required=True, help="CSV file to write")
    feats.add_argument("--size", type=int, default=None, help="resize images to SIZE x SIZE")
    feats.add_argument("--components", type=int, default=5, help="PCs per descriptor")
    feats.add_argument("--no-progress", action="store_true")
    feats.set_defaults(func=_cmd_features)

    cv = sub.add_parser("cv", help="cross-validated BP network, optionally pruned")
    cv.add_argument("--data", default=None,
                    help="SFEW.xlsx / .csv features or an image folder (default: synthetic faces)")
    cv.add_argument("--folds", type=int, default=20)
    cv.add_argument("--split", choices=["stratified", "group"], default="stratified")
    cv.add_argument("--hidden", type=int, default=16)
    cv.add_argument("--epochs", type=int, default=300)
    cv.add_argument("--lr", type=float, default=0.01)
    cv.add_argument("--seed", type=int, default=0)
    cv.add_argument("--prune", action="store_true", help="distinctiveness pruning after training")
    cv.add_argument("--criterion", choices=["correlation", "angle"], default="correlation")
    cv.add_argument("--compensate", action="store_true",
                    help="fold removed units into the remaining weights")
    cv.add_argument("--epochs-per-round", type=int, default=50)
    cv.add_argument("--markdown", action="store_true", help="tables as markdown")
    cv.add_argument("--out", default=None,
                    help="folder for summary.json, results.json (every fold's predictions, "
                         "curves, settings) and the pruning plot")
    cv.add_argument("--no-progress", action="store_true")
    cv.set_defaults(func=_cmd_cv)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
