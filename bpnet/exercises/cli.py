"""``python -m bpnet.exercises list | start DIR | check N [FILE]``.

``check`` exits 0 when every case passed and 1 when some failed; a usage mistake (an
unknown exercise, a missing file, a folder that already holds starter files) is one line
``bpnet.exercises: error: ...`` and exit 2.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..cli_tools import UsageError, run_command
from .catalog import EXERCISES, find_exercise
from .grading import grade

PROG = "bpnet.exercises"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (argparse prints the usage first)."""

    def error(self, message: str):
        print(f"{PROG}: error: {message} (see `python -m {PROG} --help`)", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Exercises on backpropagation, "
                                     "optimisers and pruning, with starter files and a grader.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="the exercises, with objective, prerequisites and time")
    start = sub.add_parser("start", help="write one starter file per exercise into DIR")
    start.add_argument("dir", type=Path)
    start.add_argument("--force", action="store_true",
                       help="overwrite starter files already in DIR (your work is lost)")
    check = sub.add_parser("check", help="grade your file for exercise N (or `all` in a folder)")
    check.add_argument("exercise", help="the exercise's number or name, or `all`")
    check.add_argument("file", nargs="?", type=Path,
                       help="your file (default: the starter file's name in the current "
                            "folder); with `all`, the folder (default: the current one)")
    return parser


def _list() -> int:
    for ex in EXERCISES:
        print(f"{ex.number}. {ex.title} ({ex.minutes} min) -> {ex.filename}\n"
              f"   objective: {ex.objective}\n   prerequisites: {ex.prerequisites}")
    print(f"total: {sum(ex.minutes for ex in EXERCISES)} minutes")
    return 0


def _start(folder: Path, force: bool) -> int:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    there = [ex.filename for ex in EXERCISES if (folder / ex.filename).exists()]
    if there and not force:
        raise UsageError(f"{folder} already holds {', '.join(there)}; pass --force to "
                         "overwrite them (your work in them is lost)")
    folder.mkdir(parents=True, exist_ok=True)
    for ex in EXERCISES:
        shutil.copyfile(ex.stub, folder / ex.filename)
    print(f"wrote {len(EXERCISES)} starter files into {folder}; "
          f"grade one with: python -m {PROG} check 1 {folder / EXERCISES[0].filename}")
    return 0


def _check(name: str, file: Path | None) -> int:
    if name == "all":
        folder = Path(".") if file is None else file
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder (with `all`, give the folder of your files)")
        todo = [(ex, folder / ex.filename) for ex in EXERCISES if (folder / ex.filename).is_file()]
        if not todo:
            raise UsageError(f"{folder} holds no exercise files; run `python -m {PROG} start "
                             f"{folder}` first")
    else:
        try:
            ex = find_exercise(name)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
        path = Path(ex.filename) if file is None else file
        if not path.is_file():
            raise UsageError(f"no file {path}")
        todo = [(ex, path)]
    grades = [grade(ex, path) for ex, path in todo]
    for g in grades:
        print(g.report())
    if len(grades) > 1:
        print(f"total: {sum(g.score for g in grades)}/{sum(g.total for g in grades)} checks "
              f"passed in {len(grades)} exercises")
    return 0 if all(g.score == g.total for g in grades) else 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)  # a usage mistake: one line, exit 2 (_Parser.error)

    def work() -> int:
        if args.command == "list":
            return _list()
        if args.command == "start":
            return _start(args.dir, args.force)
        return _check(args.exercise, args.file)

    # OSError: a folder that cannot be written
    return run_command(PROG, work, errors=(UsageError, OSError), notes=False)
