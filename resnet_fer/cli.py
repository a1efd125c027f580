"""The ``resnet-fer`` command line.

``resnet-fer train``
    Cross-validate the ResNet on an image folder (``--data``) or, without one, on the
    built-in synthetic faces; print the paper's Table 2 and write ``results.json``,
    ``report.md``, ``curves.png`` and per-fold checkpoints to ``--out``. Under ``torchrun``
    (``torchrun --nproc_per_node=N -m resnet_fer train ...``) it trains with DDP.

``--out`` is a :class:`bpnet.outdir.RunDir`: locked against a second run, probed for
writing before any work, and never overwritten once finished unless ``--resume`` (continue
or reuse) or ``--force`` (start over) says so. A mistake (bad flags, data, folder, a full
disk) is one line ``resnet-fer: error: ...`` with exit status 2; Ctrl-C exits 130 and says
how to resume.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

from bpnet.cli_tools import (
    HelpFormatter,
    UsageError,
    add_output_arguments,
    add_progress_argument,
    add_seed_argument,
    add_split_arguments,
    check_output_arguments,
    run_command,
)
from bpnet.data.facecrop import FACE_CROPS

from .config import PRESETS, AugmentConfig, DataConfig, TrainConfig, get_preset

_T, _A, _D = TrainConfig(), AugmentConfig(), DataConfig()
TOOL = "resnet-fer train"  # the command, as RunDir names it in its messages and marker
#: Settings that fix the images and the folds, which a ``--resume`` must not change (the
#: recipe is checked against each fold's checkpoint, see resnet_fer.train).
RUN_SETTINGS = ("data", "split", "folds", "split_seed", "seeds", "synthetic_per_class",
                "face_crop", "eye_distance", "eye_y", "decode_size", "gray", "equalize",
                "skip_bad")


def _config(args: argparse.Namespace) -> TrainConfig:
    """The recipe from the flags (their defaults are the preset's when ``--preset`` is given)."""
    base = get_preset(args.preset).train if args.preset else _T
    aug = dataclasses.replace(base.augment, mixup=args.mixup, cutmix=args.cutmix,
                              mix_prob=args.mix_prob, scale=(args.min_scale, 1.0),
                              degrees=args.degrees, brightness=args.jitter, contrast=args.jitter,
                              saturation=args.jitter)
    budget = None if args.memory_budget_mb is None else int(args.memory_budget_mb * 2**20)
    return dataclasses.replace(
        base, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup,
        label_smoothing=args.label_smoothing, class_weights=args.class_weights,
        dropout=args.dropout, width=args.width, stem=args.stem, size=args.size,
        drop_path=args.drop_path, ema=args.ema, tta=args.tta, augment=aug, amp=not args.no_amp,
        compile=not args.no_compile, compile_mode=args.compile_mode,
        compile_augment=not args.no_compile_augment, memory_budget=budget, seed=args.seed)


def _data_config(args: argparse.Namespace) -> DataConfig:
    return DataConfig(face_crop=args.face_crop, eye_distance=args.eye_distance, eye_y=args.eye_y,
                      decode_size=args.decode_size, gray=args.gray, equalize=args.equalize)


def _preset_defaults(name: str) -> dict:
    """Parser defaults that reproduce preset ``name`` (flags given explicitly still win)."""
    p = get_preset(name)
    t, a, d = p.train, p.train.augment, p.data
    if not a.brightness == a.contrast == a.saturation:  # pragma: no cover - a preset bug
        raise ValueError(f"preset {name}: --jitter sets brightness, contrast and saturation alike")
    return {"epochs": t.epochs, "batch_size": t.batch_size, "lr": t.lr,
            "weight_decay": t.weight_decay, "schedule": t.schedule, "warmup": t.warmup,
            "label_smoothing": t.label_smoothing, "class_weights": t.class_weights,
            "dropout": t.dropout, "width": t.width, "stem": t.stem, "size": t.size,
            "drop_path": t.drop_path, "ema": t.ema, "tta": t.tta, "mixup": a.mixup,
            "cutmix": a.cutmix, "mix_prob": a.mix_prob, "min_scale": a.scale[0],
            "degrees": a.degrees, "jitter": a.brightness, "seed": t.seed,
            "face_crop": d.face_crop, "eye_distance": d.eye_distance, "eye_y": d.eye_y,
            "decode_size": d.decode_size, "gray": d.gray, "equalize": d.equalize}


def _load(args: argparse.Namespace, verbose: bool):
    from .data import as_tensors, load_decoded, synthetic_images, tone

    config = _data_config(args)
    if args.data is None:
        data = synthetic_images(n_per_class=args.synthetic_per_class,
                                size=args.decode_size or min(args.size, 64), seed=args.seed)
        data.images = tone(data.images, config.gray, config.equalize)
        return data
    return as_tensors(load_decoded(args.data, config, args.size, skip_bad=args.skip_bad,
                                   cache_dir=args.cache_dir, progress=verbose))


def _check_before_work(args: argparse.Namespace):
    """The mistakes found without touching the data or the output folder; returns the recipe."""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here "
                         "(torch.cuda.is_available() is False); use --device cpu")
    if args.data is not None and not Path(args.data).is_dir():
        raise UsageError(f"--data {args.data}: image folder not found"
                         + (" (it is a file)" if Path(args.data).exists() else ""))
    from bpnet.environment import check_matplotlib

    check_matplotlib()  # curves.png is drawn last: a bad MPLBACKEND is found first
    return _config(args)  # TrainConfig checks its values (ValueError naming the setting)


def _run_settings(args: argparse.Namespace) -> dict:
    settings = {name: getattr(args, name) for name in RUN_SETTINGS}
    if args.data is not None:
        settings["data"] = str(Path(args.data).resolve())
    return settings


def _write_results(run, result) -> list[Path]:
    """results.json, report.md and curves.png, each written whole or not at all."""
    import io

    from bpnet.results import plot_curves

    png = io.BytesIO()
    plot_curves([result]).savefig(png, format="png", dpi=110)  # as plot_curves saves it
    return [run.write_text("results.json", result.to_json() + "\n"),
            run.write_text("report.md", result.report(fmt="markdown") + "\n"),
            run.write_bytes("curves.png", png.getvalue())]


def _open_out_and_load(args: argparse.Namespace, out: Path, seed_dirs: list[str],
                       stack: contextlib.ExitStack, info, dev, verbose: bool):
    """Rank 0 opens ``--out`` (lock, write probe, marker) and decodes the images, then tells
    the other ranks whether that worked; they read the images from its cache and never touch
    the folder's lock or marker. Returns ``(run, data)`` (``run`` None off rank 0), or None on
    a rank whose rank 0 failed (rank 0 reports why).
    """
    from bpnet.digest import input_digests
    from bpnet.outdir import RunDir

    from . import distributed

    if not info.is_main:
        return (None, _load(args, verbose)) if distributed.main_succeeded(True, dev) else None
    try:
        run = stack.enter_context(RunDir(out, TOOL, resume=args.resume, force=args.force,
                                         settings=_run_settings(args),
                                         inputs=input_digests(args.data)))
        for name in seed_dirs:  # recorded in the marker, so that --force removes them
            run.file(name or "checkpoints")
        data = _load(args, verbose)
    except BaseException:
        distributed.main_succeeded(False, dev)
        raise
    distributed.main_succeeded(True, dev)
    return run, data


def _save_final_models(args, run, data, config, runs, dev, info, verbose: bool) -> list[Path]:
    """``--final``: :func:`resnet_fer.final.save_resnet_models` with this command's settings."""
    from .final import save_resnet_models

    crop = _data_config(args)
    if args.data is None:  # the synthetic faces are whole frames
        crop = dataclasses.replace(crop, face_crop="none")
    configs = [dataclasses.replace(config, seed=config.seed + i) for i in range(len(runs))]
    return save_resnet_models(run, data, configs, runs, dev, crop=crop, progress=verbose,
                              protocol=f"{args.folds}-fold {args.split}, split seed "
                              f"{args.split_seed}", is_main=info.is_main)


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from bpnet.results import CVResult
    from bpnet.splits import make_splits

    from . import distributed
    from .train import cross_validate

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = _check_before_work(args)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    info, dev = distributed.init_from_env(device)
    verbose = info.is_main and not args.no_progress
    out = Path(args.out or f"runs/resnet-fer-{args.split}")
    # one folder of checkpoints, or with several seeds one run folder per seed
    seed_dirs = [""] if args.seeds == 1 else [f"seed{config.seed + i}" for i in range(args.seeds)]
    try:
        with contextlib.ExitStack() as stack:
            opened = _open_out_and_load(args, out, seed_dirs, stack, info, dev, verbose)
            if opened is None:
                return 2
            run, data = opened
            if args.data is None and (args.face_crop != "none" or args.skip_bad) and info.is_main:
                print("note: --face-crop and --skip-bad apply to --data only", file=sys.stderr)
            if info.is_main:
                print(data.describe(), flush=True)
            splits = make_splits(args.split, data.y, data.groups, args.folds, args.split_seed)
            runs = []
            for i, name in enumerate(seed_dirs):  # several seeds: softmax outputs averaged
                run_config = dataclasses.replace(config, seed=config.seed + i)
                runs.append(cross_validate(data.images, data.y, splits, run_config, dev,
                                           progress=verbose, out_dir=out / name, resume=args.resume,
                                           class_names=data.class_names,
                                           sample_ids=data.sample_ids))
            result = runs[0] if len(runs) == 1 else CVResult.ensemble(runs)
            if run is not None:
                paths = _write_results(run, result)
            # --final: each seed's recipe refitted on every row, with its model card
            models = (_save_final_models(args, run, data, config, runs, dev, info, verbose)
                      if args.final else [])
            if run is not None:
                paths += models
                run.finish()
    finally:
        if info.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if info.is_main:
        print(result.report())
        print(json.dumps({"split": args.split, "device": str(dev), "world_size": info.world_size,
                          "data": data.source, "preset": args.preset, "seeds": args.seeds,
                          **result.summary()}))
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx

    try:
        path = export_onnx(args.model, args.onnx, force=args.force)
    except ImportError as exc:  # the [onnx] extra is missing: say how to install it
        raise UsageError(str(exc)) from None
    print(f"wrote {path}")
    return 0


def build_parser(preset: str | None = None) -> argparse.ArgumentParser:
    """The ``resnet-fer`` parser; with ``preset``, the recipe flags default to that preset."""
    from bpnet import __version__  # one distribution, bpnet-fer, holds both packages

    parser = argparse.ArgumentParser(  # plain text: the module docstring is reST
        prog="resnet-fer", description="The ResNet branch: cross-validate a ResNet on an image "
        "folder of facial expressions (or the built-in synthetic faces). 'resnet-fer train "
        "--help' lists the options.")
    parser.add_argument("--version", action="version", version=f"resnet-fer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="cross-validate the ResNet (Table 2, curves, checkpoints)",
                       formatter_class=HelpFormatter)
    t.add_argument("--preset", choices=tuple(PRESETS), help="start from a named recipe "
                   "(resnet_fer.config.PRESETS); the flags below override single settings")
    d = t.add_argument_group("data")
    d.add_argument("--data", metavar="IMAGE_DIR", help="<Emotion>/<name>.{png,jpg} folder; "
                   "default: the built-in synthetic faces")
    d.add_argument("--face-crop", nargs="?", const="haar", default=_D.face_crop,
                   choices=FACE_CROPS,
                   help="haar (the flag alone): square around the Haar face box; align: "
                   "crop aligned on the eyes; none: the whole frame")
    d.add_argument("--eye-distance", type=float, default=_D.eye_distance,
                   help="aligned crops: distance between the eyes / crop side")
    d.add_argument("--eye-y", type=float, default=_D.eye_y,
                   help="aligned crops: height of the eyes / crop side")
    d.add_argument("--gray", action="store_true", help="grey images (luma in all channels)")
    d.add_argument("--equalize", action="store_true", help="histogram-equalise each image's luma")
    d.add_argument("--skip-bad", action="store_true", help="skip unreadable images with a warning")
    d.add_argument("--decode-size", type=int, help="stored image size (default: --size; "
                   "synthetic: min(--size, 64))")
    d.add_argument("--cache-dir", help="decoded-image cache (default ~/.cache/resnet_fer)")
    d.add_argument("--synthetic-per-class", type=int, default=60)
    p = t.add_argument_group("protocol")
    add_split_arguments(p, folds=5, split_help="stratified k-fold, or movie-grouped k-fold (no "
                        "movie in train and test)")
    add_seed_argument(p, help="the folds", name="--split-seed")
    add_output_arguments(p, out_help="output folder (default runs/resnet-fer-<split>)",
                         resume_help="continue an interrupted run in --out from its checkpoints "
                                     "(or reuse a finished one)",
                         force_help="start over in an --out that holds a run (its files are "
                                    "removed first)")
    r = t.add_argument_group("recipe")
    r.add_argument("--epochs", type=int, default=_T.epochs)
    r.add_argument("--size", type=int, default=_T.size, help="network input size (px)")
    r.add_argument("--stem", choices=("imagenet", "small"), default=_T.stem,
                   help="imagenet: 7x7/2 conv + max-pool; small: 3x3/1 conv, no pool")
    r.add_argument("--width", type=int, default=_T.width, help="channels of stage 1")
    r.add_argument("--dropout", type=float, default=_T.dropout)
    r.add_argument("--drop-path", type=float, default=_T.drop_path,
                   help="stochastic depth of the last block (0: off)")
    r.add_argument("--batch-size", type=int, default=_T.batch_size, help="global, over all ranks")
    r.add_argument("--lr", type=float, default=_T.lr)
    r.add_argument("--weight-decay", type=float, default=_T.weight_decay)
    r.add_argument("--schedule", choices=("onecycle", "cosine"), default=_T.schedule)
    r.add_argument("--warmup", type=float, default=_T.warmup, help="fraction of steps warming up")
    r.add_argument("--label-smoothing", type=float, default=_T.label_smoothing)
    r.add_argument("--class-weights", action="store_true")
    r.add_argument("--mixup", type=float, default=_A.mixup, help="Beta alpha; 0: off")
    r.add_argument("--cutmix", type=float, default=_A.cutmix, help="Beta alpha; 0: off")
    r.add_argument("--mix-prob", type=float, default=_A.mix_prob, help="fraction of samples mixed")
    r.add_argument("--min-scale", type=float, default=_A.scale[0], help="smallest random-crop area")
    r.add_argument("--degrees", type=float, default=_A.degrees, help="largest rotation")
    r.add_argument("--jitter", type=float, default=_A.brightness,
                   help="brightness, contrast and saturation jitter")
    r.add_argument("--ema", type=float, default=_T.ema,
                   help="decay of the weight average used for evaluation (0: off)")
    r.add_argument("--tta", choices=("none", "flip", "crops"), default=_T.tta,
                   help="test-time augmentation: average over flips (and centre crops)")
    add_seed_argument(r, help="initial weights, augmentation and batch order", default=_T.seed)
    r.add_argument("--seeds", type=int, default=1, help="train this many seeds (seed, seed+1, "
                   "...) per fold and average their softmax outputs")
    e = t.add_argument_group("execution")
    e.add_argument("--device", choices=("cuda", "cpu"), help="default: cuda if available")
    e.add_argument("--no-compile", action="store_true", help="no torch.compile on CUDA")
    e.add_argument("--compile-mode", help="torch.compile mode, e.g. max-autotune")
    e.add_argument("--no-compile-augment", action="store_true",
                   help="compile the model only; run the augmentation eagerly")
    e.add_argument("--no-amp", action="store_true", help="fp32 instead of bf16 autocast on CUDA")
    e.add_argument("--memory-budget-mb", type=float,
                   help="device memory for the images; larger sets stream from pinned memory")
    e.add_argument("--threads", type=int, help="CPU threads of torch (default: torch's choice; "
                   "on a busy machine 1 can be several times faster than 2)")
    add_progress_argument(e)
    p.add_argument("--final", action="store_true", help="after cross-validation, refit the "
                   "recipe on all rows and save it (with a model card) to <out>/models/")
    t.set_defaults(func=_cmd_train)
    x = sub.add_parser("export", help="write a ResNet model file as ONNX (extra [onnx])",
                       formatter_class=HelpFormatter)
    x.add_argument("model", metavar="MODEL", help="a ResNet model file (.safetensors or .pt) "
                   "from resnet-fer train --final or fer-compare --save-models")
    x.add_argument("--onnx", metavar="OUT", required=True, help="the .onnx file to write")
    x.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    x.set_defaults(func=_cmd_export)
    if preset is not None:
        t.set_defaults(**_preset_defaults(preset))
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; a ``--preset`` first sets the recipe defaults, then the flags apply."""
    pre = argparse.ArgumentParser(add_help=False)  # finds --preset, even next to --help
    pre.add_argument("--preset")
    preset = pre.parse_known_args(argv)[0].preset
    args = build_parser(preset if preset in PRESETS else None).parse_args(argv)
    if getattr(args, "command", None) == "train":
        problem = _check_numbers(args)
        if problem:
            build_parser().error(problem)
    check_output_arguments(build_parser(), args)
    return args


def _check_numbers(args: argparse.Namespace) -> str | None:
    """The first numeric option out of range, in words (before torch or the data are touched)."""
    from bpnet.data.imageio import check_side

    for name, low in (("seeds", 1), ("epochs", 1), ("batch_size", 1), ("folds", 2),
                      ("threads", 1), ("width", 1), ("synthetic_per_class", 1)):
        value = getattr(args, name)
        if value is not None and value < low:
            return f"--{name.replace('_', '-')} must be at least {low}, got {value}"
    return check_side(args.size, "--size") or check_side(args.decode_size, "--decode-size")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``resnet-fer`` console script: a mistake is one line, exit 2."""
    args = parse_args(argv)

    def work() -> int:
        import torch  # noqa: F401  (missing: one line with the extra's install hint)

        from .train import NonFiniteLossError

        try:
            return args.func(args)
        except NonFiniteLossError as exc:  # a diverged recipe is the user's to change
            raise ValueError(str(exc)) from exc

    # ValueError: bad flags, data, folders (RunDirError), checkpoints; OSError: files and
    # disks (CheckpointWriteError); each names what it is about
    return run_command("resnet-fer", work, interrupted="rerun the same command with --resume "
                       "to continue from the last checkpoint")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
