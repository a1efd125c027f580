"""Expected calibration error and the reliability diagram (bpnet.calibration)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from bpnet.calibration import (
    ReliabilityCurve,
    expected_calibration_error,
    plot_reliability,
    reliability_curve,
)


def _dirichlet_model(rng, n, c=7, sharpen=1.0):
    """Probabilities p and labels drawn from p ** sharpen (renormalised): calibrated at 1."""
    p = rng.dirichlet(np.full(c, 0.5), size=n)
    q = p ** sharpen
    q /= q.sum(1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(q, axis=1)).sum(1)  # one draw from each row of q
    return y, p


def test_ece_by_hand():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    y = np.array([0, 1, 1, 0])
    # confidences 0.9, 0.8, 0.7, 0.55 with 2 bins: (0, .5] empty, (.5, 1] holds all four,
    # accuracy 2/4, mean confidence 0.7375
    assert expected_calibration_error(y, proba, n_bins=2) == pytest.approx(0.2375)
    curve = reliability_curve(y, proba, n_bins=10)
    assert curve.counts == (0, 0, 0, 0, 0, 1, 1, 1, 1, 0)  # 0.8 and 0.9 fall in (.7, .8], (.8, .9]
    assert curve.accuracy[5:9] == (0.0, 1.0, 0.0, 1.0) and curve.accuracy[0] is None
    assert curve.ece == pytest.approx((0.55 + 0.3 + 0.8 + 0.1) / 4)
    assert curve.bin_edges[0] == 0.0 and curve.bin_edges[-1] == 1.0
    # a confidence on an edge belongs to the bin it closes: (0.4, 0.6] and (0.6, 0.8]
    assert reliability_curve([0, 0], [[0.6, 0.4], [0.8, 0.2]], n_bins=5).counts == (0, 0, 1, 1, 0)


def test_calibrated_model_has_small_ece_overconfident_has_large():
    rng = np.random.default_rng(0)
    y, p = _dirichlet_model(rng, 20_000)
    assert expected_calibration_error(y, p) < 0.02
    y, p = _dirichlet_model(rng, 20_000, sharpen=0.5)  # the truth is flatter than p says
    assert expected_calibration_error(y, p) > 0.08


def test_bad_probabilities_are_refused():
    with pytest.raises(ValueError, match="summing to 1"):
        reliability_curve([0, 1], [[2.0, -1.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="summing to 1"):
        reliability_curve([0, 1], [[0.2, 0.2], [0.5, 0.5]])
    with pytest.raises(ValueError, match="shape"):
        reliability_curve([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="out of range"):
        reliability_curve([0, 2], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="n_bins"):
        reliability_curve([0, 1], [[0.5, 0.5], [0.5, 0.5]], n_bins=0)


def test_reliability_diagram_one_panel_per_model_and_round_trip():
    rng = np.random.default_rng(1)
    curves = {name: reliability_curve(*_dirichlet_model(rng, 500, sharpen=s))
              for name, s in (("bp-paper", 1.0), ("resnet18", 0.5))}
    fig = plot_reliability(curves, title="calibration")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_title().startswith("resnet18: ECE = ")
    assert len(plot_reliability(curves["bp-paper"]).axes) == 1
    back = ReliabilityCurve.from_dict(json.loads(json.dumps(curves["resnet18"].to_dict())))
    assert back == curves["resnet18"]
