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
``bpnet tune [--data PATH] [--folds 20] [--split stratified|group] [--grid grid.json] [--out DIR]``
    Nested grid search: settings chosen on inner folds of each outer training set,
    each outer fold scored with its own choice (every model of the grid trained at
    once); writes summary.json, grid.csv and heatmap.png into ``--out``.
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


class UsageError(Exception):
    """A mistake in the command line or its files: one line on stderr, exit status 2."""


def _read_grid(path: str) -> tuple[object, dict]:
    """``--grid`` file -> (param_grid, fixed settings). A dict's list values form the grid,
    its other values are fixed settings; a list of dicts is a union of grids."""
    try:
        spec = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"--grid {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--grid {path}: not valid JSON ({exc})") from None
    if isinstance(spec, dict):
        return ({k: v for k, v in spec.items() if isinstance(v, list)},
                {k: v for k, v in spec.items() if not isinstance(v, list)})
    if isinstance(spec, list) and spec and all(isinstance(g, dict) for g in spec):
        return [{k: (v if isinstance(v, list) else [v]) for k, v in g.items()} for g in spec], {}
    raise UsageError(f"--grid {path}: expected an object of name -> list of values "
                     "(or a list of such objects)")


def _cmd_tune(args: argparse.Namespace) -> int:
    from .crossval import group_kfold, stratified_kfold
    from .model_selection import grid_search_cv, plot_inner_accuracy, write_table_csv
    from .training import TrainingError

    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not args.force:
            raise UsageError(f"--out {out}: folder exists and is not empty "
                             "(a finished run is never overwritten; pass --force to replace it)")
    if args.data is not None and not Path(args.data).exists():
        raise UsageError(f"--data {args.data}: no such file or folder")
    from .model_selection import RECOMMENDED

    recommended = RECOMMENDED[args.split]
    if args.grid is None:
        grid, fixed = recommended["grid"], dict(recommended["settings"])
    else:
        grid, fixed = _read_grid(args.grid)
    n_init = recommended["n_init"] if args.n_init is None else args.n_init
    for name, value in (("epochs", args.epochs), ("loss", args.loss)):
        if value is None:
            continue
        if any(name in g for g in ([grid] if isinstance(grid, dict) else grid)):
            raise UsageError(f"--{name}: the grid searches {name} ("
                             + ("give your own --grid to fix it)" if args.grid is None
                                else "set it in one place)"))
        if name in fixed and args.grid is not None:
            raise UsageError(f"--{name} is also set in --grid {args.grid}; set it in one place")
        fixed[name] = value  # a flag overrides a recommended fixed setting
    if args.loss == "cross_entropy" and "output" not in fixed:
        fixed["output"] = "softmax"
    if args.folds < 2 or args.inner_folds < 2:
        raise UsageError("--folds and --inner-folds must be at least 2")
    if n_init < 1 or args.top_k < 1:
        raise UsageError("--n-init and --top-k must be at least 1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = load_feature_data(args.data, seed=args.seed, progress=not args.no_progress)
            if args.split == "stratified":
                splits = stratified_kfold(ds.y, args.folds, seed=args.seed)
            else:
                splits = group_kfold(ds.y, ds.groups, args.folds, seed=args.seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    try:
        res = grid_search_cv(ds.X, ds.y, grid, splits, inner_splits=args.inner_folds,
                             groups=ds.groups if args.split == "group" else None,
                             outer=args.outer, n_init=n_init, top_k=args.top_k,
                             epoch_metric=args.epoch_metric,
                             n_classes=len(ds.class_names),
                             random_state=args.seed, progress=not args.no_progress, **fixed)
    except TrainingError as exc:
        raise UsageError(f"training failed: {exc}") from None
    except ValueError as exc:  # the grid and settings are checked before any training
        raise UsageError(f"--grid: {exc}" if args.grid else str(exc)) from None
    summary = {"data": args.data or "synthetic faces", "n": len(ds.y), "split": args.split,
               "seed": args.seed, **res.summary()}
    print(f"{args.folds}-fold {args.split} nested cross-validation ({args.inner_folds} inner "
          f"folds x {summary['n_init']} initialisations), {len(res.params)} settings: "
          f"{summary['inner_scores']} inner scores from {summary['networks_trained']} networks "
          f"in {res.seconds:.1f} s")
    print(f"outer test accuracy ({args.outer}): {summary['test_accuracy_mean']:.4f} "
          f"+- {summary['test_accuracy_std']:.4f}")
    top = sorted(res.table(), key=lambda r: -r["inner_accuracy_mean"])[:5]
    print("best settings by inner accuracy:")
    for row in top:
        setting = ", ".join(f"{k}={row[k]}" for k in res.params[0])
        print(f"  {100 * row['inner_accuracy_mean']:5.1f} %  chosen {row['times_chosen']:2d}x  "
              f"best epoch ~{row['best_epoch_median']:.0f}  {setting}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_table_csv(res, out / "grid.csv")
        plot_inner_accuracy(res, path=out / "heatmap.png")
        (out / "summary.json").write_text(json.dumps(summary, indent=2))  # last: the run is done
        print(f"wrote {out}/summary.json, grid.csv, heatmap.png")
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

    tune = sub.add_parser("tune", help="nested grid search: settings chosen on inner folds")
    tune.add_argument("--data", default=None,
                      help="SFEW.xlsx / .csv features or an image folder (default: synthetic faces)")
    tune.add_argument("--folds", type=int, default=20, help="outer folds")
    tune.add_argument("--inner-folds", type=int, default=5,
                      help="inner folds of each outer training set")
    tune.add_argument("--split", choices=["stratified", "group"], default="stratified",
                      help="stratified folds, or folds that keep each movie whole (outer and inner)")
    tune.add_argument("--grid", default=None,
                      help="JSON file: name -> list of values (fixed settings as plain values); "
                           "default: the recommended grid of --split (docs/model_selection.rst)")
    tune.add_argument("--epochs", type=int, default=None,
                      help="most epochs per model (its best epoch is chosen on validation rows)")
    tune.add_argument("--loss", choices=["mse", "cross_entropy"], default=None)
    tune.add_argument("--outer", choices=["ensemble", "refit"], default="ensemble",
                      help="score each outer fold by the chosen setting's inner models averaged, "
                           "or by one network retrained on the outer training rows")
    tune.add_argument("--n-init", type=int, default=None,
                      help="train each (setting, inner fold) from this many initial weights "
                           "(default: 3 stratified, 5 group)")
    tune.add_argument("--epoch-metric", choices=["loss", "accuracy"], default="loss",
                      help="without epochs in the grid, each model keeps the epoch of its best "
                           "validation loss or accuracy")
    tune.add_argument("--top-k", type=int, default=1,
                      help="the outer ensemble averages the inner models of the k best settings")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--out", default=None, help="folder for summary.json, grid.csv, heatmap.png")
    tune.add_argument("--force", action="store_true", help="replace the files of an earlier run")
    tune.add_argument("--no-progress", action="store_true")
    tune.set_defaults(func=_cmd_tune)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"bpnet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
