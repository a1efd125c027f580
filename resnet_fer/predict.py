"""``fer-predict``: a trained model on new photos.

::

    fer-predict runs/cmp/models/resnet.safetensors photo.jpg
    fer-predict runs/cmp/models/bp.npz photos/ --out preds.csv --annotate annotated/ --top 3

MODEL is a file from ``fer-compare --save-models`` or ``resnet-fer train --final`` (either
kind, :func:`resnet_fer.predictor.load_model`). For every image it prints the predicted
expression with its probability (the ``--top`` most probable), and ``--out`` writes the
expression, every class probability, the face box and whether a face was found to a CSV or
JSON file. ``--annotate`` writes each image with the box and label drawn. A folder is
searched recursively for images, with a progress bar; the model runs on batches. An
unreadable image stops the run with one line naming it, unless ``--skip-bad`` skips it.
A BP model needs no PyTorch.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "annotate", "list_images", "main"]

TOOL = "fer-predict"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class UsageError(ValueError):
    """A mistake in the command line: one line on stderr, exit status 2."""


def list_images(path: Path) -> list[Path]:
    """``path`` itself, or the image files under the folder ``path`` (recursive, sorted)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return files


def annotate(rgb: np.ndarray, box: Sequence[int], label: str):
    """A copy of ``rgb`` (H, W, 3) uint8 with ``box`` (x, y, w, h) and ``label`` drawn (PIL image)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    x, y, w, h = box
    line = max(1, round(min(image.size) / 100))
    draw.rectangle([x, y, x + w - 1, y + h - 1], outline=(255, 215, 0), width=line)
    font = ImageFont.load_default(size=max(10, min(image.size) // 14))
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    ty = y - (bottom - top) - 2 * line if y - (bottom - top) - 2 * line >= 0 else y + line
    draw.rectangle([x, ty, x + right - left + 2 * line, ty + bottom - top + 2 * line],
                   fill=(255, 215, 0))
    draw.text((x + line - left, ty + line - top), label, fill=(0, 0, 0), font=font)
    return image


def _record(path: Path, root: Path, pred, names: Sequence[str], top: int) -> dict:
    order = np.argsort(-pred.probabilities, kind="stable")[:top]
    return {"file": str(path), "name": str(path.relative_to(root)) if root.is_dir() else path.name,
            "expression": pred.label, "confidence": float(pred.probabilities.max()),
            "face_found": pred.face_found, "box": [int(v) for v in pred.box],
            "probabilities": {n: float(p) for n, p in zip(names, pred.probabilities)},
            "top": [[names[i], float(pred.probabilities[i])] for i in order]}


def _csv_text(records: list[dict], names: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "expression", "confidence", "face_found", "box_x", "box_y",
                     "box_width", "box_height", *[f"p_{n}" for n in names]])
    for r in records:
        found = "" if r["face_found"] is None else str(r["face_found"]).lower()
        writer.writerow([r["file"], r["expression"], f"{r['confidence']:.6f}", found, *r["box"],
                         *[f"{r['probabilities'][n]:.6f}" for n in names]])
    return buf.getvalue()


def _check_outputs(args: argparse.Namespace) -> None:
    if args.out is not None:
        out = Path(args.out)
        if out.suffix.lower() not in (".csv", ".json"):
            raise UsageError(f"--out {out}: give a .csv or .json file")
        if out.exists() and not args.force:
            raise UsageError(f"--out {out} exists; use --force to overwrite it")
        if not out.parent.is_dir():
            raise UsageError(f"--out {out}: folder {out.parent} not found")
    if args.annotate is not None:
        folder = Path(args.annotate)
        if folder.is_file():
            raise UsageError(f"--annotate {folder} is a file; give a folder")
        if folder.is_dir() and any(folder.iterdir()) and not args.force:
            raise UsageError(f"--annotate {folder} is not empty; use --force to write into it")


def _device(name: str) -> str:
    if name == "cpu":
        return "cpu"
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here; use --device cpu")
    return "cuda" if torch.cuda.is_available() else "cpu"


def run(args: argparse.Namespace) -> list[dict]:
    """Predict every image of ``args.input``; returns one record per image predicted."""
    from bpnet.data.imageio import read_image
    from bpnet.outdir import atomic_write_text

    from .predictor import Prediction, load_model

    _check_outputs(args)
    source = Path(args.input)
    files = list_images(source)
    classes = None if args.classes is None else [c.strip() for c in args.classes.split(",")]
    model = load_model(args.model, classes, batch_size=args.batch_size)
    if model.kind == "resnet":
        model.device = _device(args.device)
    names = model.class_names
    if args.top > len(names):
        raise UsageError(f"--top {args.top}: the model knows {len(names)} classes")
    annotate_dir = Path(args.annotate) if args.annotate is not None else None
    bar = None
    if source.is_dir() and not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="predicting", unit="img", file=sys.stderr)
    records: list[dict] = []
    for start in range(0, len(files), args.batch_size):
        batch, prepared = [], []
        for path in files[start:start + args.batch_size]:
            try:
                rgb = read_image(path, "RGB")
                prepared.append(model.prepare(rgb))
                batch.append((path, rgb))
            except ValueError as exc:  # read_image's messages name the file
                if not args.skip_bad:
                    raise ValueError(f"{exc} (--skip-bad skips unreadable images)") from None
                note = f"{TOOL}: skipped: {' '.join(str(exc).split())}"
                if bar is not None:  # a line of its own, not glued to the bar's
                    bar.write(note, file=sys.stderr)
                else:
                    print(note, file=sys.stderr)
        probs = model.predict_prepared([p[0] for p in prepared])
        for (path, rgb), (_, box, found), p in zip(batch, prepared, probs):
            pred = Prediction(names[int(np.argmax(p))], p, box, found)
            rec = _record(path, source, pred, names, args.top)
            records.append(rec)
            if annotate_dir is not None:
                target = annotate_dir / (rec["name"] if source.is_dir() else path.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                annotate(rgb, box, f"{pred.label} {p.max():.0%}").save(
                    target.with_suffix(".png") if target.suffix.lower() not in
                    (".png", ".jpg", ".jpeg") else target)
            line = ", ".join(f"{n} {q:.1%}" for n, q in rec["top"])
            face = {True: "", False: " (no face found: centre crop)", None: ""}[found]
            (bar.write if bar is not None else print)(f"{rec['name']}: {line}{face}")
        if bar is not None:
            bar.update(len(files[start:start + args.batch_size]))
    if bar is not None:
        bar.close()
    if args.out is not None:
        out = Path(args.out)
        if out.suffix.lower() == ".json":
            doc = {"model": str(args.model), "kind": model.kind, "class_names": list(names),
                   "predictions": records}
            atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
        else:
            atomic_write_text(out, _csv_text(records, names))
        print(f"wrote {len(records)} prediction(s) to {out}", file=sys.stderr)
    return records


def build_parser() -> argparse.ArgumentParser:
    from bpnet import __version__
    from bpnet.cli_tools import HelpFormatter, add_progress_argument

    parser = argparse.ArgumentParser(prog=TOOL, description="Predict the facial expression of "
                                     "new photos with a trained model (BP .npz or ResNet "
                                     ".safetensors/.pt).", formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"{TOOL} {__version__}")
    parser.add_argument("model", metavar="MODEL", help="model file (fer-compare --save-models, "
                        "resnet-fer train --final)")
    parser.add_argument("input", metavar="IMAGE|DIR", help="an image, or a folder searched "
                        "recursively for images")
    parser.add_argument("--out", metavar="FILE", help="write the predictions to a .csv or .json")
    parser.add_argument("--annotate", metavar="DIR", help="write each image with its face box "
                        "and label drawn into this folder")
    parser.add_argument("--top", type=int, default=1, help="print the k most probable classes")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where a ResNet runs (a BP model runs on the CPU)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--classes", metavar="A,B,...", help="refuse a model trained on "
                        "another class list")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable images "
                        "(one line each) instead of stopping")
    parser.add_argument("--force", action="store_true", help="overwrite --out / write into a "
                        "non-empty --annotate folder")
    add_progress_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fer-predict`` console script: a mistake is one line, exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error(f"--top must be at least 1, got {args.top}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    from bpnet.cli_tools import run_command

    def work() -> int:
        run(args)
        return 0

    # ValueError: UsageError, unreadable files, model files; OSError: files and folders
    return run_command(TOOL, work, notes=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
