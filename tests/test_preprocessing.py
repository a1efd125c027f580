"""Tests for bpnet.preprocessing."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from bpnet.preprocessing import Normalizer, sample_skewness


def _features(seed: int, n: int = 200) -> np.ndarray:
    """Paper-like features: a right-skewed PC, a left-skewed one, tiny PHOG-like PCs."""
    rng = np.random.default_rng(seed)
    right = rng.lognormal(0.0, 1.0, n) * 1e-2 - 5e-3  # skewed, partly negative
    left = -rng.lognormal(0.0, 0.8, n)
    tiny = rng.normal(0.0, 1e-3, (n, 2))
    return np.column_stack([right, left, tiny])


def test_skewness_matches_scipy():
    X = _features(0)
    np.testing.assert_allclose(sample_skewness(X), stats.skew(X, axis=0, bias=True), rtol=1e-10)
    assert sample_skewness(np.full((5, 1), 0.1))[0] == 0.0


def test_skewed_columns_detected_and_reduced():
    X = _features(1)
    norm = Normalizer().fit(X)
    np.testing.assert_array_equal(norm.log_columns_, [True, True, False, False])
    np.testing.assert_array_equal(norm.log_sign_[:2], [1.0, -1.0])
    after = sample_skewness(norm.transform(X))
    assert np.all(np.abs(after[:2]) < 0.5 * np.abs(norm.skewness_[:2]))
    # Order is preserved, also for the mirrored left-skewed column.
    Z = norm.transform(X)
    for j in range(4):
        np.testing.assert_array_equal(np.argsort(Z[:, j], kind="stable"),
                                      np.argsort(X[:, j], kind="stable"))


@pytest.mark.parametrize("log", ["auto", None, [0, 2]])
def test_zscore_training_output_standardised(log):
    X = _features(2)
    Z = Normalizer(log=log).fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)


def test_explicit_log_columns():
    X = _features(3)
    assert Normalizer(log=[0, -1]).fit(X).log_columns_.tolist() == [True, False, False, True]
    assert not Normalizer(log=False).fit(X).log_columns_.any()
    assert Normalizer(skew_threshold=100.0).fit(X).log_columns_.sum() == 0


def test_transform_uses_training_statistics_only():
    A, B = _features(4), _features(5, n=50) * 3.0
    norm = Normalizer().fit(A)
    # The formula with A's constants, written out independently.
    expected = np.empty_like(B)
    for j in range(A.shape[1]):
        a, b = A[:, j], B[:, j]
        g1 = stats.skew(a, bias=True)
        if abs(g1) > 1.0:
            s = np.sign(g1)
            m, c = (s * a).min(), a.std()
            ta = s * np.log1p((s * a - m) / c)
            tb = s * np.log1p((np.maximum(s * b, m) - m) / c)
        else:
            ta, tb = a, b
        expected[:, j] = (tb - ta.mean()) / ta.std()
    np.testing.assert_allclose(norm.transform(B), expected, rtol=1e-12, atol=1e-12)
    # Refitting on B would give different output: the test really detects leakage.
    assert not np.allclose(Normalizer().fit(B).transform(B), expected)


def test_test_values_below_training_min_are_clipped():
    A = _features(6)
    norm = Normalizer().fit(A)
    low = A.copy()
    low[:, 0] = A[:, 0].min() - 1.0  # beyond the training minimum
    Z = norm.transform(low)
    assert np.all(Z[:, 0] == norm.transform(A[[A[:, 0].argmin()]])[0, 0])


def test_constant_column_gives_zeros_without_warning():
    X = _features(7)
    X[:, 2] = 0.37
    X[:, 3] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("zscore", "minmax"):
            for log in ("auto", [2, 3]):
                Z = Normalizer(log=log, method=method).fit_transform(X)
                assert np.all(Z[:, 2:] == 0.0)
                assert np.all(np.isfinite(Z))


def test_negative_values_fine():
    rng = np.random.default_rng(8)
    X = -rng.lognormal(0.0, 1.0, (100, 2)) * 1e-3  # all negative, left-skewed
    norm = Normalizer().fit(X)
    assert norm.log_columns_.all()
    Z = norm.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(norm.inverse_transform(Z), X, rtol=1e-9, atol=1e-15)


def test_minmax_maps_training_into_unit_interval():
    X = _features(9)
    norm = Normalizer(method="minmax").fit(X)
    Z = norm.transform(X)
    assert Z.min() >= 0.0 and Z.max() <= 1.0
    np.testing.assert_allclose(Z.min(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(Z.max(axis=0), 1.0)


@pytest.mark.parametrize("method", ["zscore", "minmax"])
def test_inverse_transform_roundtrip(method):
    X = _features(10)
    norm = Normalizer(method=method).fit(X)
    np.testing.assert_allclose(norm.inverse_transform(norm.transform(X)), X, rtol=1e-9, atol=1e-15)


def test_errors():
    X = _features(11)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 .*NaN"):
        Normalizer().fit(bad)
    norm = Normalizer().fit(X)
    with pytest.raises(ValueError, match="column 2 .*NaN"):
        norm.transform(bad)
    with pytest.raises(ValueError, match="fitted with 4"):
        norm.transform(X[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        Normalizer().fit(X[:, 0])
    with pytest.raises(RuntimeError, match="not fitted"):
        Normalizer().transform(X)
    with pytest.raises(ValueError, match="method"):
        Normalizer(method="robust").fit(X)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        Normalizer(log=[4]).fit(X)
    with pytest.raises(ValueError, match="ambiguous"):
        Normalizer(log=True).fit(X)


def test_init_only_stores_arguments():
    norm = Normalizer(skew_threshold=0.5, log=[1], method="minmax")
    assert vars(norm) == {"skew_threshold": 0.5, "log": [1], "method": "minmax"}


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


# derandomized so that CI is reproducible; a random run once found the log-shifted column
# whose training values differ by 1e-308 (test_a_value_far_outside_a_tiny_training_spread)
@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    A=arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=finite),
    magnitude=st.sampled_from([1e-150, 1e-3, 1.0, 1e100]),
    method=st.sampled_from(["zscore", "minmax"]),
    threshold=st.sampled_from([0.0, 1.0]),
)
def test_output_always_finite(A, magnitude, method, threshold):
    A = A * magnitude  # PHOG PCs are ~1e-3; the extremes probe under/overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        norm = Normalizer(skew_threshold=threshold, method=method).fit(A)
        assert np.all(np.isfinite(norm.transform(A)))
        assert np.all(np.isfinite(norm.transform(A[::-1] * 2.0 - magnitude)))


@pytest.mark.parametrize("column", [[0, 0, 0, -2.2e-308], [0, -2.2e-308, 0], [-2.2e-309, 0, 0],
                                    [-2.2e-308, 1e-300, 0]])
@pytest.mark.parametrize("value", [-1.0, -1e100, 1e100])
def test_a_value_far_outside_a_tiny_training_spread(column, value):
    # the log's argument u / c overflows (c ~ 1e-308), the log of it does not
    norm = Normalizer(skew_threshold=0.0).fit(np.array(column)[:, None])
    assert norm.log_columns_[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        z = norm.transform(np.array([[value], [column[0]]]))
    assert np.all(np.isfinite(z))
    # still non-decreasing in x (values beyond the training minimum's side are clipped)
    far = norm.transform(np.array([[2 * value], [value]]))
    assert np.sign(far[0, 0] - far[1, 0]) in (np.sign(value), 0.0)
