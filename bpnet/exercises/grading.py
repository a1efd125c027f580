"""The autograder's machinery: a case, how a student's file is loaded, and the score.

A :class:`Case` is one hidden check: a function that receives the namespace of the
student's file and raises :class:`Failure` with a sentence saying what went wrong (the
failing input, what was expected, what came back). The helpers below turn the usual
mistakes (a missing function, ``NotImplementedError``, a wrong shape or dtype, wrong
numbers) into such sentences, so the checks themselves stay short.
"""
from __future__ import annotations

import contextlib
import functools
import io
import runpy
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

STUBS = Path(__file__).with_name("stubs")


class Failure(Exception):
    """A check failed; the message is shown to the student."""


@dataclass(frozen=True)
class Case:
    """One hidden check: ``run(namespace)`` raises :class:`Failure` when the answer is wrong."""

    name: str
    run: Callable[[dict], None]
    hint: str


@dataclass(frozen=True)
class Exercise:
    """One exercise: its starter file, what it teaches, and its hidden cases.

    ``minutes`` is the time a student needs, reading included; the course page
    (docs/course.rst) adds them up into labs.
    """

    number: int
    key: str
    title: str
    objective: str
    prerequisites: str
    minutes: int
    cases: tuple[Case, ...]

    @property
    def filename(self) -> str:
        """The starter file's name, ``ex02_tanh.py``."""
        return f"ex{self.number:02d}_{self.key}.py"

    @property
    def stub(self) -> Path:
        """The starter file shipped with the package."""
        return STUBS / self.filename


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: passed, or failed with the reason and a hint."""

    name: str
    passed: bool
    detail: str = ""
    hint: str = ""


@dataclass
class Grade:
    """A student's file graded: one :class:`CaseResult` per case."""

    exercise: Exercise
    path: Path
    results: list[CaseResult] = field(default_factory=list)
    load_error: str = ""

    @property
    def score(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.exercise.cases)

    def report(self) -> str:
        """The text ``check`` prints: a score line, then one line per case."""
        ex = self.exercise
        lines = [f"Exercise {ex.number} ({ex.title}), {self.path.name}: "
                 f"{self.score}/{self.total} checks passed"]
        if self.load_error:
            lines.append(f"  FAIL  your file did not run: {self.load_error}")
        for r in self.results:
            if r.passed:
                lines.append(f"  ok    {r.name}")
            else:
                lines.append(f"  FAIL  {r.name}\n        {r.detail}\n        hint: {r.hint}")
        return "\n".join(lines)


def load(path: Path) -> tuple[dict, str]:
    """Run the student's file; its namespace, or ``({}, reason)`` if it did not run."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # a stray print is not an answer
            return runpy.run_path(str(path), run_name="exercise"), ""
    except Exception as exc:  # any error in the student's file scores 0, with the reason
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {}, f"{type(exc).__name__}: {exc} (line {where.lineno})"


def grade(exercise: Exercise, path: Path) -> Grade:
    """Run every case of ``exercise`` against the file at ``path``."""
    result = Grade(exercise, Path(path))
    ns, result.load_error = load(Path(path))
    for case in exercise.cases:
        if result.load_error:
            result.results.append(CaseResult(case.name, False, "not run", case.hint))
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                case.run(ns)
        except Failure as failure:
            result.results.append(CaseResult(case.name, False, str(failure), case.hint))
        except NotImplementedError:
            result.results.append(CaseResult(case.name, False, "not written yet (it raises "
                                             "NotImplementedError)", case.hint))
        except Exception as exc:  # a crash in the student's code is a failed case, not ours
            result.results.append(CaseResult(case.name, False,
                                             f"your code raised {type(exc).__name__}: {exc}",
                                             case.hint))
        else:
            result.results.append(CaseResult(case.name, True))
    return result


@functools.lru_cache(maxsize=None)
def _stub_namespace(filename: str) -> dict:
    ns, error = load(STUBS / filename)
    if error:  # the shipped starter file is broken: our bug, not the student's
        raise RuntimeError(f"the starter file {filename} did not run: {error}")
    return ns


def given(filename: str, name: str) -> Any:
    """The function or class ``name`` as the starter file ``filename`` gives it.

    The oracles use this copy of the code a starter file hands out (a forward pass, a
    loss), never the student's: a file that changed the forward pass to match a wrong
    backward pass would otherwise be graded against itself.
    """
    return _stub_namespace(filename)[name]


# --- helpers for the checks ----------------------------------------------------------------
def needs(ns: dict, name: str) -> Any:
    """The function or class ``name`` from the student's file."""
    if name not in ns:
        raise Failure(f"your file defines no {name!r}")
    return ns[name]


def as_array(value: Any, what: str) -> np.ndarray:
    if value is None:
        raise Failure(f"{what} is None: did you forget to return it?")
    return np.asarray(value)


def expect_close(got: Any, want: np.ndarray, what: str, *, tol: float = 1e-6,
                 dtype: Any = None) -> None:
    """Raise :class:`Failure` unless ``got`` has ``want``'s shape (and dtype) and values.

    ``tol`` is relative to the largest entry of ``want`` (at least 1).
    """
    got = as_array(got, what)
    want = np.asarray(want)
    if got.shape != want.shape:
        raise Failure(f"{what} has shape {got.shape}, expected {want.shape}")
    if dtype is not None and got.dtype != dtype:
        raise Failure(f"{what} has dtype {got.dtype}, expected {np.dtype(dtype)} "
                      f"(the dtype of the input)")
    if not np.all(np.isfinite(got)):
        raise Failure(f"{what} contains inf or nan")
    gap = np.abs(got.astype(np.float64) - want)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    if gap.max(initial=0.0) > tol * scale:
        k = np.unravel_index(int(np.argmax(gap)), gap.shape) if gap.ndim else ()
        where = f" at {[int(i) for i in k]}" if k else ""
        raise Failure(f"{what}{where}: yours {float(got[k]):.6g}, expected {float(want[k]):.6g} "
                      f"(largest difference {gap.max():.2e})")


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every entry of ``x``.

    ``x`` is changed in place and put back; ``f`` reads it.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + eps
        up = f()
        x[k] = old - eps
        down = f()
        x[k] = old
        grad[k] = (up - down) / (2 * eps)
    return grad
