"""The bpnet command line: a BP network in NumPy, for facial expressions on SFEW.

commands:
  bpnet check            gradient check and PyTorch equivalence of every activation/loss
                         pair and optimiser, on the installed package (exit 1 on a failure)
  bpnet features DIR -o out.csv
                         the paper's dataset 1 (5 principal components of LPQ and of
                         PHOG) from an <Emotion>/<name>.jpg image folder
  bpnet cv               cross-validated BP network (all folds trained at once), optionally
                         with distinctiveness pruning; accuracy and the per-class table
  bpnet tune             nested grid search: settings chosen on inner folds of each outer
                         training set, each outer fold scored with its own choice

--data is a feature sheet (.xlsx/.csv) or an image folder; without it, the built-in
synthetic faces. 'bpnet COMMAND --help' describes each command.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import warnings
from pathlib import Path

from .cli_tools import (
    HelpFormatter,
    UsageError,
    add_output_arguments,
    add_progress_argument,
    add_seed_argument,
    add_split_arguments,
    run_command,
)

__all__ = ["HelpFormatter", "UsageError", "build_parser", "main"]  # HelpFormatter: old imports


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
    from .data.imageio import check_side
    from .data.sfew import save_features_csv

    if check_side(args.size):
        raise UsageError(check_side(args.size))
    if Path(args.output).exists() and not args.force:
        raise UsageError(f"-o {args.output} exists; pass --force to replace it")
    if not Path(args.folder).is_dir():
        raise UsageError(f"{args.folder}: no such folder")
    t0 = time.perf_counter()
    dataset = extract_features(args.folder, size=args.size, n_components=args.components,
                               progress=not args.no_progress)
    path = save_features_csv(dataset, args.output)
    print(f"{dataset}\nwrote {path} in {time.perf_counter() - t0:.1f} s")
    return 0


def _check_numbers(args: argparse.Namespace, **smallest: int) -> None:
    """Each named integer option is at least its smallest value (before any work starts)."""
    for name, low in smallest.items():
        value = getattr(args, name)
        if value < low:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {low}, got {value}")


def _run_dir(args: argparse.Namespace, tool: str):
    """The --out folder as a RunDir (locked, never silently overwritten), or a null context."""
    import contextlib

    from .outdir import RunDir

    if not args.out:
        return contextlib.nullcontext()
    from .environment import check_matplotlib

    check_matplotlib()  # the figures in --out are drawn last: a bad MPLBACKEND is found first
    skip = {"func", "out", "force", "no_progress", "markdown", "command"}
    settings = {k: v for k, v in vars(args).items() if k not in skip}
    return RunDir(args.out, tool, force=args.force, settings=settings, resumable=False)


def _cmd_cv(args: argparse.Namespace) -> int:
    from .command_data import load_feature_data
    from .cross_validation import cross_validate
    from .metrics import format_table
    from .pruning import DistinctivenessPruner
    from .split_classes import split_class_problems
    from .splits import make_splits

    if not args.prune and (args.compensate or args.criterion != "correlation"):
        raise UsageError("--compensate and --criterion choose how to prune: add --prune")
    _check_numbers(args, folds=2, hidden=1, epochs=1, epochs_per_round=0)
    if not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    with _run_dir(args, "bpnet cv") as run:  # opened (and probed for writing) before training
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = load_feature_data(args.data, seed=args.seed, progress=not args.no_progress)
            splits = make_splits(args.split, ds.y, ds.groups, args.folds, args.seed)
        for w in caught:
            print(f"note: {w.message}", file=sys.stderr)
        for problem in split_class_problems(splits, ds.y, ds.class_names):
            print(f"note: split: {problem}", file=sys.stderr)
        pruner = (DistinctivenessPruner(args.criterion, compensate=args.compensate)
                  if args.prune else False)
        res = cross_validate(ds.X, ds.y, splits, n_hidden=args.hidden, epochs=args.epochs,
                             lr=args.lr, random_state=args.seed, prune=pruner,
                             epochs_per_round=args.epochs_per_round,
                             n_classes=len(ds.class_names), class_names=ds.class_names,
                             sample_ids=ds.sample_ids, progress=not args.no_progress)
        res.settings.update(data=args.data or "synthetic faces", split=args.split,
                            folds=args.folds, split_seed=args.seed)
        summary = {"data": args.data or "synthetic faces", "n": len(ds.y), "split": args.split,
                   **{k: v for k, v in res.summary().items() if not isinstance(v, (dict, list))}}
        fmt = "markdown" if args.markdown else "text"
        print(f"{args.folds}-fold {args.split} cross-validation, BP network {ds.X.shape[1]}-"
              f"{args.hidden}-{len(ds.class_names)}, {args.epochs} epochs")
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                          for k, v in summary.items()}))
        print(format_table(res.pooled, ds.class_names, fmt=fmt))
        if run is not None:
            run.write_text("summary.json", json.dumps(summary, indent=2))
            run.write_text("results.json", res.to_json())
            if "pruning" in res.extra:
                from .prune_retrain import PruningHistory, plot_pruning_history

                plot_pruning_history(PruningHistory.from_dict(res.extra["pruning"]),
                                     path=run.file("pruning.png"))
                run.write_text("pruning.json", json.dumps(res.extra["pruning"]))
            run.finish()
            print(f"wrote {run.path}/")
    return 0


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
    _check_numbers(args, folds=2, inner_folds=2)
    if n_init < 1 or args.top_k < 1:
        raise UsageError("--n-init and --top-k must be at least 1")
    if args.n_jobs == 0:
        raise UsageError("--n-jobs must be a non-zero integer (1: serial, -1: every core)")
    if args.n_jobs != 1 and not all(importlib.util.find_spec(m) for m in ("joblib", "threadpoolctl")):
        raise UsageError(f"--n-jobs {args.n_jobs} needs joblib and threadpoolctl: "
                         "pip install 'bpnet-fer[parallel]'")
    with _run_dir(args, "bpnet tune") as run:
        return _tune(args, run, grid, fixed, n_init)


def _tune(args, run, grid, fixed, n_init) -> int:
    from .command_data import load_feature_data
    from .model_selection import grid_search_cv, plot_inner_accuracy, write_table_csv
    from .splits import make_splits
    from .training import TrainingError
    from .tune_budget import announce_tune

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = load_feature_data(args.data, seed=args.seed, progress=not args.no_progress)
            splits = make_splits(args.split, ds.y, ds.groups, args.folds, args.seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    announce_tune(grid, fixed, ds, n_outer=args.folds, n_inner=args.inner_folds, n_init=n_init)
    try:
        res = grid_search_cv(ds.X, ds.y, grid, splits, inner_splits=args.inner_folds,
                             groups=ds.groups if args.split == "group" else None,
                             outer=args.outer, n_init=n_init, top_k=args.top_k,
                             epoch_metric=args.epoch_metric,
                             n_classes=len(ds.class_names),
                             random_state=args.seed, progress=not args.no_progress,
                             n_jobs=args.n_jobs, **fixed)
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
    if run is not None:
        write_table_csv(res, run.file("grid.csv"))
        plot_inner_accuracy(res, path=run.file("heatmap.png"))
        run.write_text("summary.json", json.dumps(summary, indent=2))
        run.finish()
        print(f"wrote {run.path}/summary.json, grid.csv, heatmap.png")
    return 0


def _add_protocol_arguments(parser: argparse.ArgumentParser, folds_help: str, inner: bool) -> None:
    """``--data``, ``--folds`` and ``--split`` of ``cv`` and ``tune`` (with ``inner``: and
    ``--inner-folds``)."""
    parser.add_argument("--data", default=None, help="SFEW.xlsx / .csv features or an image "
                        "folder (none: synthetic faces)")
    add_split_arguments(parser, folds=20, folds_help=folds_help,
                        split_help="stratified folds, or folds that keep each movie (person) "
                                   "whole" + (" (outer and inner)" if inner else ""))
    if inner:
        parser.add_argument("--inner-folds", type=int, default=5,
                            help="inner folds of each outer training set")


def _add_run_arguments(parser: argparse.ArgumentParser, seed_help: str, out_help: str) -> None:
    """``--seed``, ``--out``, ``--force`` and ``--no-progress`` of ``cv`` and ``tune``."""
    add_seed_argument(parser, help=seed_help)
    add_output_arguments(parser, out_help=out_help, force_help="replace a finished run in --out",
                         default=None)
    add_progress_argument(parser)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="bpnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bpnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="verify gradients and PyTorch equivalence",
                           formatter_class=HelpFormatter)
    check.add_argument("--no-torch", action="store_true",
                       help="skip the PyTorch comparisons even if torch is installed")
    check.set_defaults(func=_cmd_check)

    feats = sub.add_parser("features", help="LPQ + PHOG principal components from images",
                           formatter_class=HelpFormatter)
    feats.add_argument("folder", help="image folder laid out as <Emotion>/<name>.{png,jpg}")
    feats.add_argument("-o", "--output", required=True, help="CSV file to write")
    feats.add_argument("--size", type=int, default=None,
                       help="resize images to SIZE x SIZE (none: their own size)")
    feats.add_argument("--components", type=int, default=5, help="PCs per descriptor")
    add_output_arguments(feats, out_help=None, force_help="replace an existing output file")
    add_progress_argument(feats)
    feats.set_defaults(func=_cmd_features)

    cv = sub.add_parser("cv", help="cross-validated BP network, optionally pruned",
                        formatter_class=HelpFormatter)
    _add_protocol_arguments(cv, folds_help="cross-validation folds", inner=False)
    # the paper's network, 10-32-7 trained for 1000 epochs (about 3 s of CPU time on SFEW)
    cv.add_argument("--hidden", type=int, default=32, help="hidden units (the paper's 32)")
    cv.add_argument("--epochs", type=int, default=1000,
                    help="full-batch Adam epochs (the paper's 1000)")
    cv.add_argument("--lr", type=float, default=0.01, help="learning rate")
    cv.add_argument("--prune", action="store_true", help="distinctiveness pruning after training")
    cv.add_argument("--criterion", choices=["correlation", "angle"], default="correlation",
                    help="pairs of units with |r| > 0.9, or Gedeon's angle rule")
    cv.add_argument("--compensate", action="store_true",
                    help="fold removed units into the remaining weights")
    cv.add_argument("--epochs-per-round", type=int, default=50,
                    help="retraining epochs after each pruning round")
    cv.add_argument("--markdown", action="store_true", help="tables as markdown")
    _add_run_arguments(cv, seed_help="split and initial weights",
                       out_help="folder for summary.json, results.json (every fold's predictions, "
                                "curves, settings) and the pruning plot")
    cv.set_defaults(func=_cmd_cv)

    tune = sub.add_parser("tune", help="nested grid search: settings chosen on inner folds",
                          formatter_class=HelpFormatter)
    _add_protocol_arguments(tune, folds_help="outer folds", inner=True)
    tune.add_argument("--grid", default=None,
                      help="JSON file: name -> list of values (fixed settings as plain values); "
                           "none: the recommended grid of --split (docs/model_selection.rst)")
    tune.add_argument("--epochs", type=int, default=None,
                      help="most epochs per model (its best epoch is chosen on validation rows)")
    tune.add_argument("--loss", choices=["mse", "cross_entropy"], default=None)
    tune.add_argument("--outer", choices=["ensemble", "refit"], default="ensemble",
                      help="score each outer fold by the chosen setting's inner models averaged, "
                           "or by one network retrained on the outer training rows")
    tune.add_argument("--n-init", type=int, default=None,
                      help="train each (setting, inner fold) from this many initial weights "
                           "(none: 3 stratified, 5 group)")
    tune.add_argument("--epoch-metric", choices=["loss", "accuracy"], default="loss",
                      help="without epochs in the grid, each model keeps the epoch of its best "
                           "validation loss or accuracy")
    tune.add_argument("--top-k", type=int, default=1,
                      help="the outer ensemble averages the inner models of the k best settings")
    _add_run_arguments(tune, seed_help="splits and initial weights",
                       out_help="folder for summary.json, grid.csv, heatmap.png")
    tune.add_argument("--n-jobs", type=int, default=1,
                      help="train the stacks on this many joblib workers of one BLAS thread "
                           "each (-1: every core; needs bpnet-fer[parallel]); same results")
    tune.set_defaults(func=_cmd_tune)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bpnet`` console script: a user's mistake is one line, exit 2."""
    from .optim import TrainingError

    args = build_parser().parse_args(argv)
    kept = (f"{args.output} was not written" if args.command == "features"
            else "nothing was kept of this run")  # features has no --out or --force
    # UsageError: the command line; ValueError (RunDirError among them) and OSError: data,
    # files and folders, named by the layer that found them
    return run_command("bpnet", lambda: args.func(args),
                       interrupted=f"{kept}: run the same command again",
                       errors=(TrainingError, ValueError, OSError, MemoryError))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
