"""Hidden checks of exercises 7-9: Adam, the distinctiveness angle, the compensating merge.

Oracles: :class:`bpnet.Adam` (``torch.optim.Adam``'s rule), the angle of
:func:`bpnet.pruning.unit_statistics`, and the network's own outputs, which a
compensating merge must leave unchanged (computed with the forward pass the starter file
gives, never the student's copy).
"""
from __future__ import annotations

import numpy as np

from ..optim import Adam
from ..pruning import unit_statistics
from .grading import Case, Failure, expect_close, given, needs


# --- exercise 7: Adam ---------------------------------------------------------------------
def _gradient(w: np.ndarray) -> np.ndarray:  # of the loss sum(w**4 / 4 - w), minimal at w = 1
    return w ** 3 - 1.0


def _adam_trajectory(steps: int, lr: float, scale: float = 1.0, dtype=np.float64):
    def run(ns):
        adam_step = needs(ns, "adam_step")
        start = np.random.default_rng(0).normal(size=(3, 2))
        reference = {"w": start.copy()}
        adam = Adam(reference, lr=lr)
        p = start.astype(dtype)
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t in range(1, steps + 1):
            got = adam_step(p, (scale * _gradient(p)).astype(dtype), m, v, t, lr=lr)
            if not isinstance(got, tuple) or len(got) != 3:
                raise Failure("adam_step must return a tuple (p, m, v)")
            p, m, v = got
            adam.step({"w": scale * _gradient(reference["w"])})
            expect_close(p, reference["w"], f"the parameters after step {t} (lr {lr}, "
                         f"gradients of size ~{scale:g}{', float32' if dtype == np.float32 else ''})",
                         tol=1e-5 if dtype == np.float32 else 1e-10,
                         dtype=dtype if dtype == np.float32 else None)
    return run


ADAM = (
    Case("the first step moves each parameter by about lr", _adam_trajectory(1, 0.01),
         "with m = v = 0 at the start, the first moments are biased towards 0: divide m by "
         "(1 - beta1**t) and v by (1 - beta2**t)"),
    Case("100 steps beside bpnet.Adam", _adam_trajectory(100, 0.01),
         "m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2;  then the bias corrections, "
         "with t the step number starting at 1"),
    Case("tiny gradients (1e-9): where eps matters", _adam_trajectory(5, 0.01, scale=1e-9),
         "add eps to sqrt(v_hat), outside the square root, as torch.optim.Adam does"),
    Case("float32 parameters stay float32", _adam_trajectory(20, 0.01, dtype=np.float32),
         "Python floats keep float32 arrays float32; np.float64 scalars do not"),
)


# --- exercise 8: the distinctiveness angle ------------------------------------------------
def _oracle_angle(h_i: np.ndarray, h_j: np.ndarray) -> float:
    stats = unit_statistics(np.column_stack([h_i, h_j]).astype(np.float64))
    return float(stats["angle"][0, 1])


def _angles(pairs: dict[str, tuple[np.ndarray, np.ndarray]], dtype=np.float64):
    def run(ns):
        unit_angle = needs(ns, "unit_angle")
        for what, (h_i, h_j) in pairs.items():
            got = unit_angle(h_i.astype(dtype), h_j.astype(dtype))
            expect_close(np.float64(got), np.float64(_oracle_angle(h_i, h_j)),
                         f"the angle of {what}, in degrees",
                         tol=1e-4 if dtype == np.float32 else 1e-8)
    return run


_rng = np.random.default_rng(1)
_A, _B = _rng.random(20), _rng.random(20)
_EDGE = np.random.default_rng(4).random(7)  # here the duplicate's cosine rounds to 1 + 2e-16


def _decisions(ns):
    decide = needs(ns, "pair_decision")
    want = {14.9: "similar", 15.0: "similar", 15.1: "distinct", 90.0: "distinct",
            164.9: "distinct", 165.0: "complementary", 165.1: "complementary",
            0.0: "similar", 180.0: "complementary"}
    for angle, expected in want.items():
        got = decide(angle)
        if got != expected:
            raise Failure(f"pair_decision({angle}) returned {got!r}, expected {expected!r}")


def _decide_pairs(ns):
    unit_angle, decide = needs(ns, "unit_angle"), needs(ns, "pair_decision")
    noise = 0.02 * np.random.default_rng(2).normal(size=20)
    pairs = {"a unit and a slightly noisy copy": (_A, np.clip(_A + noise, 0, 1), "similar"),
             "a unit and its noisy complement": (_A, np.clip(1 - _A + noise, 0, 1),
                                                 "complementary"),
             "two independent units": (_A, _B, "distinct")}
    for what, (h_i, h_j, expected) in pairs.items():
        got = decide(unit_angle(h_i, h_j))
        if got != expected:
            raise Failure(f"{what}: decision {got!r}, expected {expected!r}")


ANGLE = (
    Case("two random units", _angles({"two random units": (_A, _B)}),
         "centre both vectors at 0.5 first, then angle = degrees(arccos(u.v / (|u| |v|)))"),
    Case("a duplicate gives 0 and a complement 180, never nan",
         _angles({"a duplicate": (_EDGE, _EDGE), "a complement": (_EDGE, 1 - _EDGE)}),
         "rounding can make the cosine 1 + 2e-16: np.clip it to [-1, 1] before arccos"),
    Case("the decision at and around the thresholds", _decisions,
         "both thresholds are inclusive: <= 15 is similar, >= 165 complementary"),
    Case("three pairs of units, decided", _decide_pairs,
         "similar units point the same way after centring; complementary ones point "
         "opposite ways"),
    Case("float32 activations", _angles({"two random float32 units": (_A, _B)},
                                        dtype=np.float32),
         "np.arccos and np.degrees work in any dtype; avoid integer arithmetic"),
)


# --- exercise 9: the compensating merge ---------------------------------------------------
def _planted_network():
    """A 4-5-3 network widened by a duplicate of unit 0, a complement of unit 1, a constant."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    W1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)
    W1 = np.column_stack([W1, W1[:, 0], -W1[:, 1], np.zeros(4)])  # units 5, 6, 7
    b1 = np.concatenate([b1, [b1[0], -b1[1], 6.0]])
    W2 = np.vstack([W2, rng.normal(size=(3, 3))])
    return X, W1, b1, W2, b2


def _merge_case(j: int, i: int | None, what: str):
    def run(ns):
        forward, remove_unit = given("ex09_merge.py", "forward"), needs(ns, "remove_unit")
        X, W1, b1, W2, b2 = _planted_network()
        before, H = forward(X, W1, b1, W2, b2)
        originals = [a.copy() for a in (W1, b1, W2, b2)]
        got = remove_unit(W1, b1, W2, b2, H, j, i)
        if not isinstance(got, tuple) or len(got) != 4:
            raise Failure("remove_unit must return a tuple (W1, b1, W2, b2)")
        shapes = [np.shape(a) for a in got]
        want_shapes = [(4, 7), (7,), (7, 3), (3,)]
        if shapes != want_shapes:
            raise Failure(f"the returned arrays have shapes {shapes}, expected {want_shapes} "
                          "(one hidden unit fewer)")
        for name, a, b in zip(("W1", "b1", "W2", "b2"), (W1, b1, W2, b2), originals):
            if not np.array_equal(a, b):
                raise Failure(f"remove_unit changed the {name} it was given; work on copies")
        after, _ = forward(X, *got)
        expect_close(after, before, f"the outputs after removing {what}", tol=1e-10)
    return run


def _similar_unit(ns):
    """A unit that is only similar (r ~ 0.95): the merge must beat plain deletion."""
    forward, remove_unit = given("ex09_merge.py", "forward"), needs(ns, "remove_unit")
    X, W1, b1, W2, b2 = _planted_network()
    W1 = W1.copy()
    W1[:, 5] += 0.3 * np.random.default_rng(5).normal(size=4)  # unit 5 now near unit 0
    before, H = forward(X, W1, b1, W2, b2)
    after, _ = forward(X, *remove_unit(W1, b1, W2, b2, H, 5, 0))
    keep = np.arange(8) != 5
    deleted, _ = forward(X, W1[:, keep], b1[keep], W2[keep], b2)
    merged_gap, deleted_gap = np.abs(after - before).max(), np.abs(deleted - before).max()
    if not merged_gap < 0.5 * deleted_gap:
        raise Failure(f"removing the near-duplicate unit 5 changes an output by {merged_gap:.3g}, "
                      f"plain deletion by {deleted_gap:.3g}: expected well under half of that")


MERGE = (
    Case("a duplicate (unit 5 = unit 0), outputs unchanged",
         _merge_case(5, 0, "the duplicate unit 5 into unit 0"),
         "a duplicate has a = 1, c = 0: W2[i] += W2[j]; then delete column j of W1, entry j "
         "of b1 and row j of W2"),
    Case("a complement (unit 6 = 1 - unit 1), outputs unchanged",
         _merge_case(6, 1, "the complementary unit 6 into unit 1"),
         "h_j = 1 - h_i: a = -1 and c = 1, so W2[i] -= W2[j] and b2 += W2[j]; merging the "
         "INCOMING weights cannot work (the complement's W1 column is minus unit 1's)"),
    Case("a constant unit (unit 7, i = None), outputs unchanged",
         _merge_case(7, None, "the constant unit 7"),
         "a constant unit only shifts the outputs: b2 += c * W2[j] with c its mean output"),
    Case("a unit that is only similar: better than plain deletion", _similar_unit,
         "fit h_j = a h_i + c by least squares (np.polyfit(H[:, i], H[:, j], 1)) rather "
         "than assuming a = 1"),
)
