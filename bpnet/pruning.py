r"""Distinctiveness pruning of hidden units (Gedeon & Harris, 1991), as in the paper.

After training, look at what every hidden unit outputs over the training
patterns. A unit is redundant when

* it is **constant**: its summed output is below ``zero_sum`` (default 0.01,
  "always 0") or above ``one_fraction`` (0.9) times the number of patterns
  ("always 1");
* it **duplicates another unit**: the two activation vectors are strongly
  correlated (``criterion="correlation"``: Pearson :math:`|r| > 0.9`, the paper's
  rule), or nearly parallel / anti-parallel (``criterion="angle"``: Gedeon's
  original, the angle between the vectors centred at 0.5 is at most 15° =
  *similar* or at least 165° = *complementary*).

One unit goes per round (the paper; ``max_per_round`` allows more, never two
records that share a unit), the network is retrained from the remaining
weights, and the loop repeats until no unit qualifies. The last hidden unit is
never removed.

Compensation: the algebra
-------------------------
The output layer is *linear* in the hidden outputs: :math:`z = \sum_i h_i w_i + b`
(:math:`w_i` the row of ``W2`` leaving unit *i*). If the removed unit *j* behaves
like :math:`h_j \approx a\,h_i + c` on the training patterns, then

.. math:: h_i w_i + h_j w_j + b \approx h_i (w_i + a\,w_j) + (b + c\,w_j),

so adding :math:`a\,w_j` to the kept unit's *outgoing* weights and
:math:`c\,w_j` to the output bias leaves the logits unchanged:

=================  ======================  =====================================
removed unit       relation                update
=================  ======================  =====================================
constant           :math:`h_j = c`         ``b2 += c * W2[j]`` (c = its mean output)
similar to *i*     :math:`h_j = h_i + c`   ``W2[i] += W2[j]``, ``b2 += c * W2[j]``
complementary      :math:`h_j = c - h_i`   ``W2[i] -= W2[j]``, ``b2 += c * W2[j]``
=================  ======================  =====================================

``c`` is the least-squares intercept for the given slope,
:math:`c = \bar h_j - a \bar h_i`: 0 for an exact duplicate, 1 for an exact
sigmoid complement (:math:`h_j = 1 - h_i`), so the table's rows reduce to the
textbook rules. Merging the *incoming* weights instead (averaging ``W1`` columns,
as some implementations do) is wrong: it changes :math:`h_i` itself, through
the nonlinearity, rather than the linear sum the two units feed.
``compensate=False`` is the paper's plain deletion.

Removal is physical for a single network (``W1`` column, ``b1`` entry, ``W2``
row and the optimiser's state for them are cut out). In a stack of networks
(one per cross-validation fold) each model prunes independently through
``net.unit_mask``; :meth:`~bpnet.BPNetwork.select_model` then exports a
compact network.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for the annotations only
    from .network import BPNetwork
    from .optim import Optimizer

CRITERIA = ("correlation", "angle")


@dataclass(frozen=True)
class Removal:
    """One pruned unit: which, why, the statistic that decided it, and its partner.

    ``unit`` and ``partner`` are column indices in the hidden layer *before* this
    round's removals; ``model`` is the index in a stack (None for one network).
    """

    unit: int
    reason: str  # "always_zero", "always_one", "constant", "similar", "complementary"
    statistic: float  # summed output, standard deviation, |r| or the angle in degrees
    partner: int | None
    criterion: str
    model: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def unit_statistics(A: np.ndarray, weights: np.ndarray | None = None,
                    center: float = 0.5) -> dict[str, np.ndarray]:
    """Per-unit sums and all pairwise statistics, with one matrix product each.

    Parameters
    ----------
    A : (n, H) or (K, n, H)
        Hidden activations over the patterns.
    weights : (n,) or (K, n), optional
        0/1 (or non-negative) pattern weights, e.g. a fold's training mask.
    center : float
        Where the angle criterion centres the vectors (0.5 for sigmoid units).

    Returns
    -------
    dict with ``sums`` (..., H), ``n_patterns`` (...), ``means`` (..., H), ``sd`` (..., H),
    ``corr`` (..., H, H) Pearson r (NaN where a unit has zero variance) and
    ``angle`` (..., H, H) in degrees (NaN where a centred vector is zero).
    """
    w = np.ones(A.shape[:-1]) if weights is None else np.broadcast_to(weights, A.shape[:-1])
    n = w.sum(axis=-1)
    sums = np.einsum("...n,...nh->...h", w, A)
    means = sums / n[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        D = A - means[..., None, :]
        cov = np.einsum("...ni,...n,...nj->...ij", D, w, D)  # (weighted) scatter matrix
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        corr = cov / (sd[..., :, None] * sd[..., None, :])
        C = A - center
        dot = np.einsum("...ni,...n,...nj->...ij", C, w, C)
        norm = np.sqrt(np.diagonal(dot, axis1=-2, axis2=-1))
        cos = np.clip(dot / (norm[..., :, None] * norm[..., None, :]), -1.0, 1.0)
    # a unit that never varies has no correlation or direction: leave those to the constant test
    tiny = 1e-12 * np.maximum(1.0, np.abs(A).max())
    corr = np.where((sd[..., :, None] > tiny) & (sd[..., None, :] > tiny), corr, np.nan)
    angle = np.where((norm[..., :, None] > tiny) & (norm[..., None, :] > tiny),
                     np.degrees(np.arccos(np.nan_to_num(cos))), np.nan)
    return {"sums": sums, "n_patterns": n, "means": means, "sd": sd / np.sqrt(n)[..., None],
            "corr": corr, "angle": angle}


class DistinctivenessPruner:
    """Finds and removes redundant hidden units.

    Parameters
    ----------
    criterion : {"correlation", "angle"}
        ``"correlation"`` (the paper): Pearson :math:`|r|` above ``corr_threshold``.
        ``"angle"`` (Gedeon): angle between the activation vectors centred at
        ``center``; similar at most ``similar_angle`` degrees, complementary at
        least ``complementary_angle``.
    compensate : bool
        Fold the removed unit's contribution into the remaining weights (see the
        module docstring); False is the paper's plain deletion.
    zero_sum : float
        A unit whose summed output over the patterns is below this is "always 0".
    one_fraction : float
        A unit whose summed output exceeds ``one_fraction * n_patterns`` is "always 1".
    corr_threshold, similar_angle, complementary_angle : float
        Pair thresholds (strict ``>`` for ``|r|``; inclusive for the angles).
    flat_std : float
        For tanh and ReLU units, whose summed output says nothing about being
        constant, a unit whose standard deviation over the patterns is below this
        is removed as "constant". (Sigmoid units use the paper's two sum tests.)
    center : float or None
        Centre for the angle criterion; None chooses 0.5 for sigmoid units and 0
        for tanh and ReLU.
    max_per_round : int
        Units removed per round (1 in the paper); candidates never share a unit.

    Notes
    -----
    Order of removal within a round: constant units first (smallest summed
    output first for "always 0", largest for "always 1"), then pairs, the most
    redundant first (largest ``|r|``, or the angle farthest from 90°). Of a pair
    ``(i, j)`` with ``i < j`` the higher-numbered unit ``j`` is removed.
    """

    def __init__(self, criterion: str = "correlation", compensate: bool = False, *,
                 zero_sum: float = 0.01, one_fraction: float = 0.9, corr_threshold: float = 0.9,
                 similar_angle: float = 15.0, complementary_angle: float = 165.0,
                 flat_std: float = 1e-3, center: float | None = None, max_per_round: int = 1):
        if criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
        if max_per_round < 1:
            raise ValueError(f"max_per_round must be >= 1, got {max_per_round}")
        self.criterion = criterion
        self.compensate = compensate
        self.zero_sum = zero_sum
        self.one_fraction = one_fraction
        self.corr_threshold = corr_threshold
        self.similar_angle = similar_angle
        self.complementary_angle = complementary_angle
        self.flat_std = flat_std
        self.center = center
        self.max_per_round = max_per_round

    def _center(self, net: BPNetwork) -> float:
        if self.center is not None:
            return self.center
        return 0.5 if net.hidden == "sigmoid" else 0.0

    def _candidates(self, stats: dict, live: np.ndarray, model: int | None,
                    sigmoid: bool) -> list:
        """Ordered candidate records for one model, from its statistics (no pair loop)."""
        sums, n, sd = stats["sums"], float(stats["n_patterns"]), stats["sd"]
        if sigmoid:
            zero = np.flatnonzero(live & (sums < self.zero_sum))
            one = np.flatnonzero(live & (sums > self.one_fraction * n))
            flat = np.array([], dtype=int)
        else:  # outputs not in [0, 1]: "summed output" means nothing; test the spread
            zero = one = np.array([], dtype=int)
            flat = np.flatnonzero(live & (sd < self.flat_std))
        out = [Removal(int(j), "always_zero", float(sums[j]), None, self.criterion, model)
               for j in zero[np.argsort(sums[zero], kind="stable")]]
        out += [Removal(int(j), "always_one", float(sums[j]), None, self.criterion, model)
                for j in one[np.argsort(-sums[one], kind="stable")]]
        out += [Removal(int(j), "constant", float(sd[j]), None, self.criterion, model)
                for j in flat[np.argsort(sd[flat], kind="stable")]]
        const = np.zeros_like(live)
        const[zero] = const[one] = const[flat] = True
        pair_ok = live & ~const
        upper = np.triu(np.outer(pair_ok, pair_ok), k=1)
        if self.criterion == "correlation":
            stat = stats["corr"]
            hit = upper & (np.abs(np.nan_to_num(stat)) > self.corr_threshold)
            i, j = np.nonzero(hit)
            strength = np.abs(stat[i, j])
            reasons = np.where(stat[i, j] > 0, "similar", "complementary")
            values = strength
        else:
            stat = stats["angle"]
            ang = np.nan_to_num(stat, nan=90.0)
            hit = upper & ((ang <= self.similar_angle) | (ang >= self.complementary_angle))
            i, j = np.nonzero(hit)
            strength = np.abs(ang[i, j] - 90.0)
            reasons = np.where(ang[i, j] <= 90.0, "similar", "complementary")
            values = ang[i, j]
        order = np.lexsort((j, i, -strength))  # strongest first; ties by unit index
        out += [Removal(int(j[k]), str(reasons[k]), float(values[k]), int(i[k]), self.criterion,
                        model) for k in order]
        return out

    def _select(self, candidates: list, n_live: int) -> list:
        """Greedy non-overlapping choice, never leaving fewer than one live unit."""
        chosen, used = [], set()
        for rec in candidates:
            if len(chosen) >= min(self.max_per_round, n_live - 1):
                break
            involved = {rec.unit} | ({rec.partner} if rec.partner is not None else set())
            if involved & used:
                continue
            chosen.append(rec)
            used |= involved
        return chosen

    def find(self, net: BPNetwork, X: np.ndarray,
             sample_weight: np.ndarray | None = None) -> list[Removal]:
        """The units this round would remove (the network is not changed).

        Parameters
        ----------
        net : BPNetwork
        X : (n, n_in) or (K, n, n_in)
            The training patterns.
        sample_weight : (n,) or (K, n), optional
            For a stack: each model's training mask.
        """
        A = net.hidden_activations(X)
        stats = unit_statistics(A, sample_weight, self._center(net))
        sigmoid = net.hidden == "sigmoid"
        live = np.ones(net.n_hidden, bool) if net.unit_mask is None else net.unit_mask != 0
        if net.n_models is None:
            return self._select(self._candidates(stats, live, None, sigmoid), int(live.sum()))
        live = np.broadcast_to(live, (net.n_models, net.n_hidden))
        chosen = []
        for k in range(net.n_models):
            stats_k = {key: v[k] for key, v in stats.items()}
            candidates = self._candidates(stats_k, live[k], k, sigmoid)
            chosen += self._select(candidates, int(live[k].sum()))
        return chosen

    def prune(self, net: BPNetwork, X: np.ndarray, optimizer: Optimizer | None = None,
              sample_weight: np.ndarray | None = None) -> list[Removal]:
        """Find this round's redundant units and remove them from ``net`` (in place).

        Returns the list of :class:`Removal` records (empty when nothing qualifies).
        The optimiser's state for removed units is removed (one network) or
        zeroed (a stack) with them.
        """
        records = self.find(net, X, sample_weight)
        if not records:
            return records
        if self.compensate:
            A = net.hidden_activations(X)
            means = unit_statistics(A, sample_weight, self._center(net))["means"]
            for rec in records:
                _compensate(net, rec, means if rec.model is None else means[rec.model])
        if net.n_models is None:
            _remove_columns(net, optimizer, sorted(r.unit for r in records))
        else:
            _mask_units(net, optimizer, [(r.model, r.unit) for r in records])
        return records


def _compensate(net: BPNetwork, rec: Removal, means: np.ndarray) -> None:
    """Fold unit ``rec.unit``'s contribution into the kept weights (module docstring)."""
    p = net.params
    k = () if rec.model is None else (rec.model,)
    w_j = p["W2"][k + (rec.unit,)].copy()
    if rec.partner is None:
        slope = 0.0
    else:
        slope = 1.0 if rec.reason == "similar" else -1.0
        p["W2"][k + (rec.partner,)] += slope * w_j
    intercept = means[rec.unit] - (slope * means[rec.partner] if rec.partner is not None else 0.0)
    p["b2"][k] += intercept * w_j


# hidden-unit axis of every parameter (negative: works with or without the stack axis)
_UNIT_AXIS = {"W1": -1, "b1": -1, "W2": -2}


def _remove_columns(net: BPNetwork, optimizer: Optimizer | None, units: list[int]) -> None:
    keep = np.setdiff1d(np.arange(net.n_hidden), units)
    for name, axis in _UNIT_AXIS.items():
        net.params[name] = np.take(net.params[name], keep, axis=axis)
        if optimizer is not None:
            for key, arr in optimizer.state_arrays(name).items():
                optimizer.state[name][key] = np.take(arr, keep, axis=axis)
    if net.unit_mask is not None:
        net.unit_mask = net.unit_mask[keep]


def _mask_units(net: BPNetwork, optimizer: Optimizer | None,
                units: list[tuple[int, int]]) -> None:
    if net.unit_mask is None:
        net.unit_mask = np.ones((net.n_models, net.n_hidden), dtype=net.dtype)
    for k, j in units:
        net.unit_mask[k, j] = 0.0
        for name in _UNIT_AXIS:
            index = (k, slice(None), j) if name == "W1" else (k, j)  # W1 (K, n_in, H)
            arrays = [net.params[name]]
            if optimizer is not None:
                arrays += list(optimizer.state_arrays(name).values())
            for arr in arrays:
                arr[index] = 0.0  # a dead unit keeps no weights and no optimiser momentum


def reference_decision(A: np.ndarray, criterion: str = "correlation", zero_sum: float = 0.01,
                       one_fraction: float = 0.9, corr_threshold: float = 0.9,
                       similar_angle: float = 15.0, complementary_angle: float = 165.0
                       ) -> tuple[int, str] | None:
    """The paper's rule for one round, for one sigmoid network, with plain loops.

    This is the readable version of :meth:`DistinctivenessPruner.find` (which does the
    same with one matrix product per statistic, for stacks, masks and several removals per
    round); the tests check that both decide alike on many random networks.

    Parameters
    ----------
    A : (n, H)
        Hidden activations over the training patterns.

    Returns
    -------
    (unit, reason) or None
        The unit to remove and why, or None when no unit qualifies.
    """
    n, H = A.shape
    # 1. constant units: summed output below zero_sum ("always 0") or above
    #    one_fraction * n ("always 1"); the most extreme one goes first
    constant = []
    for j in range(H):
        total = sum(A[i, j] for i in range(n))
        if total < zero_sum:
            constant.append((0, total, j, "always_zero"))
        elif total > one_fraction * n:
            constant.append((1, -total, j, "always_one"))
    if constant:
        _, _, j, reason = min(constant)
        return j, reason
    # 2. pairs that behave alike (or as mirror images): of (i, j), i < j, unit j goes
    pairs = []
    for i in range(H):
        for j in range(i + 1, H):
            a, b = A[:, i], A[:, j]
            if criterion == "correlation":
                if a.std() == 0 or b.std() == 0:
                    continue  # no correlation without variance
                r = np.corrcoef(a, b)[0, 1]
                if abs(r) > corr_threshold:
                    pairs.append((-abs(r), i, j, "similar" if r > 0 else "complementary"))
            else:  # the angle between the activation vectors, centred at 0.5
                u, v = a - 0.5, b - 0.5
                cos = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
                angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
                if angle <= similar_angle or angle >= complementary_angle:
                    reason = "similar" if angle <= 90 else "complementary"
                    pairs.append((-abs(angle - 90), i, j, reason))
    if not pairs:
        return None
    _, _, j, reason = min(pairs)  # the most redundant pair; ties go to the lowest indices
    return j, reason
