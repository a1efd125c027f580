"""The command-line toolkit of every command of the project: one of each.

``bpnet``, ``resnet-fer``, ``fer-compare``, ``fer-predict`` and ``python -m bpnet.exercises``
build their parsers and run their commands with these, so that they look and fail alike:

* :class:`HelpFormatter`: each option's default shown once, where it has one;
* :func:`run_command`: the error wrapper. A user's mistake is one line ``tool: error: ...``
  with exit status 2, never a traceback; Ctrl-C exits 130 with the tool's hint (how to
  resume); a missing module is named as Python names it, with the install hint of the
  ``torch`` extra only where that extra would bring it (:func:`import_error_message`);
* the shared arguments: :func:`add_output_arguments` (``--out``, ``--resume``, ``--force``),
  :func:`add_progress_argument` (``--no-progress``), :func:`add_seed_argument` (``--seed``)
  and :func:`add_split_arguments` (``--folds``, ``--split``).

This module imports only the standard library (and ``bpnet.notes`` when a command runs),
so ``resnet_fer`` builds its parsers without loading the BP command line, the data layer
or torch.
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
from typing import Callable

__all__ = ["HelpFormatter", "SPLITS", "TORCH_EXTRA_MODULES", "USER_ERRORS", "UsageError",
           "add_output_arguments", "add_progress_argument", "add_seed_argument",
           "add_split_arguments", "check_output_arguments", "import_error_message", "one_line",
           "run_command"]

#: top-level modules that the project's ``torch`` extra installs
TORCH_EXTRA_MODULES = frozenset({"torch", "torchvision", "cv2"})

#: values of ``--split``: stratified folds, or folds that keep each movie (person) whole
SPLITS = ("stratified", "group")

#: what a command's ``main`` turns into one error line unless it names others: bad flags,
#: data, folders and run folders (ValueError), files and disks (OSError), a set too large
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, MemoryError)


class UsageError(ValueError):
    """A mistake in the command line or its files: one line on stderr, exit status 2."""


class HelpFormatter(argparse.HelpFormatter):
    """Each option's default shown once, when it has one (also for options without a help text).

    argparse's ``ArgumentDefaultsHelpFormatter`` also prints ``(default: None)`` after a help
    text that already says what the default means, ``(default: False)`` for flags, and
    nothing for an option without a help text.
    """

    @staticmethod
    def _has_default(action: argparse.Action) -> bool:
        # identity, not ==: a default of 0 or 0.0 is shown, only None and a flag's False are not
        return bool(action.option_strings) and not any(
            action.default is none for none in (None, False, argparse.SUPPRESS))

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and self._has_default(action):
            action = copy.copy(action)  # argparse prints no help line for an empty help text
            action.help = "default: %(default)s"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if self._has_default(action) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def import_error_message(exc: ImportError) -> str:
    """The missing module as it is, with the install hint only where the extra would help.

    A missing ``torch`` (or another module of the ``torch`` extra) gets the hint; any other
    missing module is named as Python names it, since reinstalling torch would not bring it.
    """
    missing = (exc.name or "").split(".")[0]
    if missing in TORCH_EXTRA_MODULES:
        return f"{exc} (install the project's 'torch' extra: pip install \".[torch]\")"
    return str(exc)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (its type's name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def run_command(tool: str, work: Callable[[], int | None], *, interrupted: str | None = None,
                errors: tuple[type[BaseException], ...] = USER_ERRORS, notes: bool = True) -> int:
    """Run one command and turn what went wrong into its exit status.

    Parameters
    ----------
    tool : str
        The name printed before every message (``bpnet``, ``resnet-fer``...).
    work : callable
        The command; its return value (None meaning 0) is the exit status.
    interrupted : str, optional
        What Ctrl-C leaves behind and how to go on, printed after ``tool: interrupted;``.
    errors : tuple of exception types
        The user's mistakes: each is one line ``tool: error: ...`` and exit status 2.
    notes : bool
        Print warnings as ``note:`` lines (``bpnet.notes.warnings_as_notes``).

    Returns
    -------
    int
        0 (or ``work``'s status); 2 for a mistake or a missing module; 130 after Ctrl-C;
        141, silently, when the reader of the output closed it (``| head``).
    """
    try:
        if notes:
            from .notes import warnings_as_notes

            with warnings_as_notes():
                status = work()
        else:
            status = work()
        sys.stdout.flush()  # a closed pipe shows here, not in Python's shutdown
    except KeyboardInterrupt:
        print(f"\n{tool}: interrupted" + (f"; {interrupted}" if interrupted else ""),
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of the output went away (`... | head`): not the user's mistake, and
        # nothing more can reach it; the shell's status for a command stopped by SIGPIPE
        _discard_stdout()
        return 141
    except ImportError as exc:
        print(f"{tool}: error: {import_error_message(exc)}", file=sys.stderr)
        return 2
    except errors as exc:
        print(f"{tool}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    return 0 if status is None else int(status)


def _discard_stdout() -> None:
    """Point the standard output at the null device, so that flushing it at exit is silent."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (a captured stream): nothing to flush
        pass


def add_output_arguments(parser, *, out_help: str | None, force_help: str,
                         resume_help: str | None = None, **out_kw) -> None:
    """``--out`` (when ``out_help`` is given), ``--resume`` (when ``resume_help`` is) and
    ``--force``: no command overwrites a finished run unless told."""
    if out_help is not None:
        parser.add_argument("--out", help=out_help, **out_kw)
    if resume_help is not None:
        parser.add_argument("--resume", action="store_true", help=resume_help)
    parser.add_argument("--force", action="store_true", help=force_help)


def check_output_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) for ``--resume`` with ``--force``."""
    if getattr(args, "resume", False) and getattr(args, "force", False):
        parser.error("use --resume or --force, not both")


def add_progress_argument(parser) -> None:
    """``--no-progress``: no tqdm bars (logs, CI)."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_seed_argument(parser, help: str, default: int = 0, name: str = "--seed") -> None:
    """``--seed`` (or ``name``): an int that fixes the random choices ``help`` names."""
    parser.add_argument(name, type=int, default=default, help=help)


def add_split_arguments(parser, *, folds: int, folds_help: str | None = None,
                        split_help: str = "stratified folds, or folds that keep each movie "
                                          "(person) whole") -> None:
    """``--folds`` (default ``folds``) and ``--split`` (:data:`SPLITS`, default stratified)."""
    parser.add_argument("--folds", type=int, default=folds, help=folds_help)
    parser.add_argument("--split", choices=SPLITS, default="stratified", help=split_help)
