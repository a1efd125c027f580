"""Exercise 8: the distinctiveness angle, and the decision for a pair of units.

Objective: compute Gedeon's angle between two hidden units' activation vectors and
    decide whether the pair is similar, complementary or distinct.
Prerequisites: the angle between two vectors; the gallery example "Pruning, before and
    after".
Time: 10 minutes.

A hidden unit's *activation vector* is its output over the training patterns. Gedeon's
rule centres sigmoid outputs at 0.5 (so that "always 0.5" is the zero vector) and
measures the angle between two units' centred vectors: at most 15 degrees, the units are
*similar* (one of them is redundant); at least 165 degrees, they are *complementary*
(one is the other upside down, also redundant); anything between is *distinct*.

Write ``unit_angle(h_i, h_j, center=0.5)``, the angle in degrees, and
``pair_decision(angle)``. Take care at the edges: an exact duplicate must give 0 and an
exact complement 180, never nan (rounding can push the cosine a hair past 1), and both
thresholds are inclusive.

Check your answer with ``python -m bpnet.exercises check 8 ex08_angle.py``.
"""
import numpy as np  # noqa: F401 (you may need it)

SIMILAR = 15.0          # degrees: at most this, the pair is "similar"
COMPLEMENTARY = 165.0   # degrees: at least this, the pair is "complementary"


def unit_angle(h_i, h_j, center=0.5):
    """The angle in degrees between activation vectors h_i, h_j (n,), centred at center."""
    raise NotImplementedError  # your code here


def pair_decision(angle):
    """'similar' (angle <= SIMILAR), 'complementary' (angle >= COMPLEMENTARY) or 'distinct'."""
    raise NotImplementedError  # your code here
