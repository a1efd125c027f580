"""How big a nested grid search is, worked out before any of it runs.

``bpnet tune`` prints the number of networks, the epochs, and rough estimates of the time
and the peak memory before it starts, and refuses a search whose memory estimate exceeds
the memory the machine has available (a grid of 10^5 settings, ``--n-init 1000000``,
``--epochs 1e9``): such a search used to run for hours, or to fill the memory before any
check. The grid is counted, never expanded, so a grid of 10^12 settings costs nothing.

The estimates are rough (within a factor of about 3): the time from the cost of a
model-epoch measured on the 2-core Xeon of docs/model_selection.rst (about 5 µs of
overhead plus 6 ns per row and unit), the memory from what the search keeps per fold and
per network (index arrays, outputs at each checkpoint, curves) plus the stacks' working
buffers (bounded by ``bpnet.grid_stack.STACK_BYTES``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["TuneBudget", "announce_tune", "estimate_tune"]

#: seconds per model-epoch: fixed overhead, and per (row x unit)
_EPOCH_OVERHEAD_S = 20e-6
_ROW_UNIT_S = 6e-9
#: bytes: Python objects per fold block and per network, the stacks' buffers, the process
_BLOCK_OBJECT = 2048
_MODEL_OBJECT = 1024
_STACK_BUFFERS = 16 * 2**20
_PROCESS = 100 * 2**20


def _size(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**10:.0f} KiB"


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400 * 2:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


@dataclass(frozen=True)
class TuneBudget:
    """The size of one nested search (see :func:`estimate_tune`)."""

    n_settings: int
    n_networks: int
    max_epochs: int
    model_epochs: int
    seconds: float
    peak_bytes: float
    layout: str  # "20 outer x 5 inner folds x 3 initialisations x 2 models"

    def describe(self) -> str:
        """One line for the console, printed before the search starts."""
        return (f"{self.n_settings:,} settings: {self.n_networks:,} networks ({self.layout}), "
                f"up to {self.max_epochs:,} epochs each; roughly {_duration(self.seconds)} "
                f"and {_size(self.peak_bytes)} of memory at the peak (rough estimates)")

    def check_memory(self, available: float | None) -> None:
        """Raise MemoryError (one line) when the peak estimate exceeds ``available`` bytes."""
        if available is not None and self.peak_bytes > available:
            raise MemoryError(
                f"this search needs about {_size(self.peak_bytes)} of memory "
                f"({self.n_networks:,} networks: {self.layout}, up to {self.max_epochs:,} "
                f"epochs), {_size(available)} are available; use a smaller grid, --n-init "
                "or --epochs")


def _values(grid: dict[str, Any], name: str, fixed: dict[str, Any], default: Any) -> list:
    values = grid.get(name)
    if isinstance(values, (list, tuple)) and values:
        return list(values)
    return [fixed.get(name, default)]


def estimate_tune(param_grid, fixed: dict[str, Any], *, n_rows: int, n_features: int,
                  n_classes: int, n_outer: int, n_inner: int, n_init: int,
                  refit: bool) -> TuneBudget | None:
    """The size of :func:`bpnet.model_selection.grid_search_cv` on these data, counted
    without expanding the grid.

    Parameters
    ----------
    param_grid : dict or list of dict
        Name -> list of values, as ``grid_search_cv`` takes it.
    fixed : dict
        The fixed settings (``epochs``, ``n_hidden`` when not in the grid).
    n_rows, n_features, n_classes : int
        The data.
    n_outer, n_inner, n_init : int
        Outer folds, inner folds, initialisations.
    refit : bool
        One more network per outer fold.

    Returns
    -------
    TuneBudget or None
        None when the grid holds values that cannot be counted (the search itself then
        reports them, before any training).
    """
    grids = [param_grid] if isinstance(param_grid, dict) else list(param_grid)
    try:
        n_settings = n_models = model_epochs = unit_epochs = max_epochs = 0
        checkpoints = 0
        for grid in grids:
            lengths = {k: len(v) for k, v in grid.items() if isinstance(v, (list, tuple))}
            n_settings += math.prod(lengths.values())
            epochs = [int(e) for e in _values(grid, "epochs", fixed, 300)]
            hidden = [int(h) for h in _values(grid, "n_hidden", fixed, 16)]
            # settings that differ only in epochs share one network, scored at each epoch
            bases = math.prod(n for k, n in lengths.items() if k != "epochs")
            top = max(epochs)
            mean_h = sum(hidden) / len(hidden)
            n_models += bases
            model_epochs += bases * top
            unit_epochs += bases * top * (mean_h + n_classes)
            max_epochs = max(max_epochs, top)
            checkpoints += bases * (len(epochs) if "epochs" in lengths else 1)
    except (TypeError, ValueError):
        return None
    n_blocks = n_outer * n_inner * n_init
    n_test = n_rows / n_outer
    n_train = (n_rows - n_test) * (1 - 1 / n_inner)
    width = max(1.0, n_features / 10)  # the products over the inputs, beyond 10 features
    n_networks = n_blocks * n_models + (n_outer if refit else 0)
    total_epochs = n_blocks * model_epochs + (n_outer * max_epochs if refit else 0)
    seconds = (total_epochs * _EPOCH_OVERHEAD_S
               + n_blocks * unit_epochs * n_train * width * _ROW_UNIT_S)
    per_block = _BLOCK_OBJECT + 8 * n_rows  # train, val and predict rows of one inner fold
    kept = (n_blocks * (n_models * _MODEL_OBJECT + 16 * checkpoints * n_test * n_classes
                        + 32 * model_epochs))
    peak = _PROCESS + _STACK_BUFFERS + n_blocks * per_block + kept
    layout = (f"{n_outer} outer x {n_inner} inner folds x {n_init:,} initialisations x "
              f"{n_models:,} models" + (f", + {n_outer} refits" if refit else ""))
    return TuneBudget(n_settings, n_networks, max_epochs, total_epochs, seconds, peak, layout)


def announce_tune(param_grid, fixed: dict[str, Any], dataset, *, n_outer: int, n_inner: int,
                  n_init: int) -> None:
    """``bpnet tune``'s first line: the search's size; MemoryError when it cannot fit."""
    from .input_checks import available_memory

    budget = estimate_tune(param_grid, fixed, n_rows=len(dataset.y),
                           n_features=dataset.X.shape[1], n_classes=len(dataset.class_names),
                           n_outer=n_outer, n_inner=n_inner, n_init=n_init, refit=True)
    if budget is not None:
        print(f"bpnet tune: {budget.describe()}", flush=True)
        budget.check_memory(available_memory())
