"""Independent jobs (stacks of model selection) run serially, or on joblib workers.

``n_jobs=1`` runs the jobs here, one after the other, and imports nothing beyond NumPy.
Any other ``n_jobs`` hands them to ``joblib.Parallel`` (the extra
``bpnet-fer[parallel]``: joblib and threadpoolctl), which runs them on whatever backend
is active: local processes by default (loky), or a cluster under
``joblib.parallel_config(backend="dask")`` (``[dask]``) or ``backend="ray"`` (``[ray]``).
Every job then runs with its BLAS capped to one thread: a stack of small networks gains
nothing from several BLAS threads, and ``n_jobs`` workers of one thread each fill
``n_jobs`` cores without oversubscribing them.

A job's result depends only on its own arguments (each stack has its own random seed), so
the results are bit-identical whatever ``n_jobs`` and backend, in the order of the jobs.
"""
from __future__ import annotations

from typing import Callable, Iterable

__all__ = ["check_n_jobs", "run_jobs"]

EXTRA_HINT = "pip install 'bpnet-fer[parallel]' (joblib and threadpoolctl)"


def check_n_jobs(n_jobs) -> int:
    """``n_jobs`` as joblib reads it: a non-zero integer (-1: every core, -2: all but one)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (1: serial, -1: every core), "
                         f"got {n_jobs!r}")
    return n_jobs


def _one_thread(fn: Callable, args: tuple):
    """Run ``fn(*args)`` with every BLAS library of this worker capped to one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fn(*args)


def run_jobs(fn: Callable, jobs: Iterable[tuple], n_jobs: int = 1,
             on_done: Callable | None = None) -> list:
    """``[fn(*args) for args in jobs]``, serially or on ``n_jobs`` joblib workers.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name).
    jobs : iterable of tuple
        The arguments of each call.
    n_jobs : int
        1: here, serially (no joblib needed). Otherwise joblib's ``n_jobs`` (-1: every core
        of the active backend).
    on_done : callable, optional
        Called with each result as it arrives, in the order of ``jobs`` (a progress bar).

    Returns
    -------
    list
        The results, in the order of ``jobs``.
    """
    check_n_jobs(n_jobs)
    results = []
    if n_jobs == 1:
        for args in jobs:
            results.append(fn(*args))
            if on_done is not None:
                on_done(results[-1])
        return results
    try:
        import threadpoolctl  # noqa: F401  (checked here, used in the workers)
        from joblib import Parallel, delayed
    except ImportError as exc:
        raise ImportError(f"n_jobs={n_jobs} needs joblib and threadpoolctl: {EXTRA_HINT}") from exc
    tasks = [delayed(_one_thread)(fn, args) for args in jobs]
    try:  # results as they arrive (a progress bar moves), where the backend can stream them
        stream = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    except ValueError as exc:  # ray's backend, for one, returns only the whole list
        if "return_as" not in str(exc):
            raise
        stream = Parallel(n_jobs=n_jobs)(tasks)
    for result in stream:
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
