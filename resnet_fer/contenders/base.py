"""The registry of contenders that ``fer-compare`` puts on the same folds.

A contender is a name, a one-line description, the input it reads, a function that fits on
one fold's training rows and predicts its test rows, and a recipe per device. Adding a model
to the comparison is one ``fit_fold`` function, one :func:`register` call and its tests::

    def fit_fold(fold: Fold, recipe: dict) -> FoldFit:
        ...  # fit on fold.train only (normaliser, PCA, class weights included), predict fold.test

    register(Contender("my-model", "what it is, in one line", "descriptors", fit_fold,
                       cpu_recipe={...}, gpu_recipe={...}))

Nothing a contender fits may see a test row: :class:`Fold` hands it every row (so that
images, features and groups keep one indexing), and the tests of each contender change the
test rows' labels and check that its predictions do not move.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from bpnet.results import FoldResult

__all__ = ["INPUTS", "Contender", "Fold", "FoldFit", "available", "get", "register",
           "registry"]

#: What a contender reads: the feature sheet (or the paper's 10 features computed from the
#: images), descriptors computed from the face crops, or the images themselves.
INPUTS = ("features", "descriptors", "images")
Input = Literal["features", "descriptors", "images"]


@dataclass
class Fold:
    """One fold of one repeat, as a contender sees it.

    Attributes
    ----------
    train, test : (n_train,), (n_test,) int64
        Row indices into every array below; fit on ``train`` only.
    y : (n,) int64
        Labels of every row (a contender reads ``y[train]``; ``y[test]`` only to score).
    groups : (n,)
        The group (movie) of each row, for inner splits that keep groups whole.
    class_names : tuple of str
    X : (n, d) float64 or None
        The feature sheet's rows (input ``"features"``).
    images : (n, H, W, 3) uint8 or None
        The images (inputs ``"descriptors"`` and ``"images"``).
    repeat, index : int
        Which repeat, and which fold within it.
    seed : int
        The seed for this contender on this fold (initial weights, order, augmentation).
    device : str
        ``"cpu"`` or ``"cuda"``.
    workdir : Path or None
        A folder of its own for checkpoints (inside the run folder), or None.
    progress : bool
        Show progress bars.
    """

    train: np.ndarray
    test: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    class_names: tuple[str, ...]
    X: np.ndarray | None = None
    images: np.ndarray | None = None
    repeat: int = 0
    index: int = 0
    seed: int = 0
    device: str = "cpu"
    workdir: Path | None = None
    progress: bool = False


@dataclass
class FoldFit:
    """What a contender returns for one fold.

    Attributes
    ----------
    result : FoldResult
        ``scores`` are class probabilities (rows sum to 1) for ``fold.test``; curves use
        :data:`bpnet.results.CURVES` names where the model has epochs (empty otherwise).
    n_params : int
        Trainable parameters (for a linear model, its weights and biases).
    fit_seconds : float
        Wall time of fitting (inner selection included).
    predict_ms_per_image : float
        Inference time per test image, preprocessing of the stored input included.
    info : dict
        JSON-safe facts for the report (the chosen setting of an inner search, ...).
    """

    result: FoldResult
    n_params: int
    fit_seconds: float
    predict_ms_per_image: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contender:
    """A model in the comparison.

    Attributes
    ----------
    name : str
        Lower-case, hyphenated (``"bp-paper"``); what ``--models`` takes.
    description : str
        One line, for ``--list-models`` and the report.
    input : {"features", "descriptors", "images"}
    fit_fold : callable
        ``fit_fold(fold: Fold, recipe: dict) -> FoldFit``.
    cpu_recipe, gpu_recipe : dict
        Settings passed as ``recipe`` on each device.
    default_on : tuple of str
        Devices on which it runs when ``--models`` is not given.
    quick_recipe : dict
        Overrides of the recipe for ``--quick`` (a smoke run of a few epochs).
    batch_fit : callable, optional
        ``batch_fit(folds: list[Fold], recipe) -> list[FoldFit]``: fits several folds of one
        repeat at once (the BP network trains them as one stack); see :meth:`fit_folds`.
    choose_recipe : callable, optional
        ``choose_recipe(device, quick, synthetic, preset) -> (recipe, why)`` for a contender
        whose recipe depends on the data (the ResNet's presets); see :meth:`resolve_recipe`.
    """

    name: str
    description: str
    input: Input
    fit_fold: Callable[[Fold, dict], FoldFit]
    cpu_recipe: dict = field(default_factory=dict)
    gpu_recipe: dict = field(default_factory=dict)
    default_on: tuple[str, ...] = ("cpu", "cuda")
    quick_recipe: dict = field(default_factory=dict)
    batch_fit: Callable[[list[Fold], dict], list[FoldFit]] | None = None
    choose_recipe: Callable[[str, bool, bool, str], tuple[dict, str]] | None = None

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise ValueError(f"contender {self.name!r}: input must be one of {INPUTS}, "
                             f"got {self.input!r}")

    def recipe(self, device: str, quick: bool = False) -> dict:
        """The settings on ``device`` (``"cuda"`` takes the GPU recipe), ``--quick`` applied."""
        base = dict(self.gpu_recipe if device.startswith("cuda") else self.cpu_recipe)
        return {**base, **self.quick_recipe} if quick else base

    def resolve_recipe(self, device: str, quick: bool = False, synthetic: bool = True,
                       preset: str = "auto") -> tuple[dict, str]:
        """The recipe for this run and a sentence saying why it was chosen.

        ``choose_recipe`` decides where given; otherwise :meth:`recipe` (the device's recipe,
        ``--quick`` applied).
        """
        if self.choose_recipe is not None:
            return self.choose_recipe(device, quick, synthetic, preset)
        kind = "GPU" if device.startswith("cuda") else "CPU"
        return self.recipe(device, quick), f"the {kind} recipe" + (" (--quick)" if quick else "")

    def fit_folds(self, folds: list[Fold], recipe: dict) -> list[FoldFit]:
        """Fit every fold in ``folds`` (of one repeat): ``batch_fit`` where given, else
        ``fit_fold`` on each in turn."""
        if self.batch_fit is not None:
            return self.batch_fit(folds, recipe)
        return [self.fit_fold(fold, recipe) for fold in folds]


_REGISTRY: dict[str, Contender] = {}


def register(contender: Contender) -> Contender:
    """Add ``contender`` (a name may be registered once)."""
    if contender.name in _REGISTRY:
        raise ValueError(f"a contender named {contender.name!r} is already registered")
    _REGISTRY[contender.name] = contender
    return contender


def registry() -> dict[str, Contender]:
    """Every registered contender by name, in registration order."""
    return dict(_REGISTRY)


def get(name: str) -> Contender:
    """The contender called ``name``, or a ValueError listing the names there are."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no model called {name!r}; there are: "
                         f"{', '.join(_REGISTRY)}") from None


def available(device: str) -> list[Contender]:
    """The contenders that run by default on ``device``."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return [c for c in _REGISTRY.values() if kind in c.default_on]
