"""BPClassifier passes scikit-learn's own estimator checks, and its docs page runs.

``parametrize_with_checks`` runs every check scikit-learn has for a classifier over four
configurations, with no expected failures. The training budget is short (it is
conformance, not accuracy): ``EPOCHS`` instead of the default 300.
"""
import doctest
import functools
import os
import subprocess
import sys
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")  # __sklearn_tags__ and Tags

from sklearn.utils import estimator_checks  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import bpnet  # noqa: E402

EPOCHS = 40
CONFIGS = [
    bpnet.BPClassifier(epochs=EPOCHS),  # the paper's network: sigmoid/sigmoid/MSE
    bpnet.BPClassifier(output="softmax", loss="cross_entropy", epochs=EPOCHS),
    bpnet.BPClassifier(hidden="relu", epochs=EPOCHS),
    bpnet.BPClassifier(dtype="float32", epochs=EPOCHS),
]
DOCS = Path(__file__).resolve().parents[1] / "docs"

# check_sample_weight_equivalence_on_dense_data compares a fit with integer sample weights
# to a fit on repeated rows at rtol=1e-7, which is below float32's machine epsilon
# (1.2e-7): float32 training rounds the two sums differently by about that much. The
# float32 configuration runs the same check, data and comparison with the tolerance
# scaled to float32 (100 eps); float64 configurations run it unchanged.
FLOAT32_TOL = 100 * float(np.finfo(np.float32).eps)
AT_FLOAT32_PRECISION = {"check_sample_weight_equivalence_on_dense_data"}


def _check_name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


with warnings.catch_warnings():
    # scikit-learn warns that BPClassifier does not inherit from its BaseEstimator: by
    # design, so that bpnet runs without scikit-learn installed.
    warnings.filterwarnings("ignore", message=".*does not inherit from", category=UserWarning)
    SKLEARN_CHECKS = parametrize_with_checks(CONFIGS)


@SKLEARN_CHECKS
def test_sklearn_estimator_check(estimator, check):
    if estimator.dtype == "float32" and _check_name(check) in AT_FLOAT32_PRECISION:
        compare = estimator_checks.assert_allclose_dense_sparse
        at_float32 = functools.partial(compare, rtol=FLOAT32_TOL, atol=FLOAT32_TOL)
        with mock.patch.object(estimator_checks, "assert_allclose_dense_sparse", at_float32):
            check(estimator)
    else:
        check(estimator)


def test_float32_sample_weights_are_equivalent_only_to_float32_precision():
    """The one check run at float32 tolerance does fail at scikit-learn's (so the scaling
    is needed), and passes at float64 for the same network."""
    check = estimator_checks.check_sample_weight_equivalence_on_dense_data
    with pytest.raises(AssertionError, match="not equivalent"):
        check("BPClassifier", bpnet.BPClassifier(dtype="float32", epochs=300))
    check("BPClassifier", bpnet.BPClassifier(dtype="float64", epochs=300))


def test_array_api_check_with_scipy_array_api():
    """scikit-learn skips its array-API check unless SCIPY_ARRAY_API=1 is set before SciPy
    is imported, so it runs here in a fresh interpreter."""
    code = ("import bpnet; from sklearn.utils.estimator_checks import check_array_api_input; "
            "check_array_api_input('BPClassifier', bpnet.BPClassifier(epochs=5), 'numpy', "
            "expect_only_array_outputs=False); print('ok')")
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_not_fitted_error_is_sklearns_and_a_value_error():
    from sklearn.exceptions import NotFittedError

    clf = bpnet.BPClassifier()
    for method in (clf.predict, clf.predict_proba, clf.decision_function, clf.predict_log_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(np.ones((2, 3)))
    with pytest.raises(ValueError):
        clf.predict(np.ones((2, 3)))
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "loss_curve_")


def test_column_y_warns_with_sklearns_data_conversion_warning():
    from sklearn.exceptions import DataConversionWarning

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf = bpnet.BPClassifier(epochs=2).fit(X, y[:, None])
    assert clf.classes_.tolist() == [0, 1]


def test_docs_page_examples_run():
    """Every ``>>>`` example of docs/sklearn.rst runs and prints what the page shows."""
    pytest.importorskip("sklearn", minversion="1.8")  # CalibratedClassifierCV "temperature"
    result = doctest.testfile(str(DOCS / "sklearn.rst"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0
