"""Feature normalisation: log-transform skewed columns, then z-score or min-max.

The paper's 10 features (the first 5 principal components of LPQ and of PHOG)
are tiny (about 1e-3 for the PHOG PCs), can be negative, and some are strongly
skewed. :class:`Normalizer` learns every constant on the training fold in
``fit`` and applies them unchanged in ``transform``, so nothing leaks from the
test fold.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Normalizer", "sample_skewness"]

# A spread this small relative to the column's magnitude is rounding noise:
# the column is treated as constant.
_REL_TINY = 1e-10


def _is_tiny(spread: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """True where ``spread`` is zero or negligible next to ``magnitude``."""
    return spread <= _REL_TINY * magnitude


def _centered_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column ``r = max|x - mean|`` and the 2nd and 3rd moments of ``(x - mean) / r``.

    Dividing by ``r`` first keeps the powers away from underflow (features of
    1e-150 would square to subnormals) and overflow; moments of the scaled
    deviations lie in ``[1/n, 1]`` for any non-constant column.
    """
    d = X - X.mean(axis=0)
    r = np.abs(d).max(axis=0)
    u = d / np.where(r > 0, r, 1.0)
    return r, np.mean(u**2, axis=0), np.mean(u**3, axis=0)


def _std(X: np.ndarray) -> np.ndarray:
    """Population std (``ddof=0``) of each column, computed without underflow."""
    r, m2, _ = _centered_moments(X)
    return r * np.sqrt(m2)


def sample_skewness(X: ArrayLike) -> np.ndarray:
    """Biased sample skewness of each column (Fisher-Pearson ``g1``).

    ``g1 = m3 / m2**1.5`` with ``m_k = mean((x - mean(x))**k)``; equal to
    ``scipy.stats.skew(X, axis=0, bias=True)``, except that a constant column
    (to rounding) gives 0.0 instead of NaN.

    Parameters
    ----------
    X : (n_samples, n_features) array-like

    Returns
    -------
    (n_features,) float64 ndarray
    """
    X = np.asarray(X, dtype=np.float64)
    r, m2, m3 = _centered_moments(X)  # g1 is scale-free, so the scaled moments give it
    const = _is_tiny(r * np.sqrt(m2), np.abs(X).max(axis=0))
    out = np.zeros(X.shape[1])
    np.divide(m3, m2**1.5, out=out, where=~const)
    return out


def _guard_scale(scale: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Replace zero or negligible scales by 1 (scikit-learn's convention)."""
    return np.where(_is_tiny(scale, magnitude), 1.0, scale)


class Normalizer:
    """Log-transform skewed features, then standardise them.

    Parameters
    ----------
    skew_threshold : float, default 1.0
        With ``log="auto"``, columns whose training skewness ``|g1|`` (see
        :func:`sample_skewness`; scipy's ``skew(bias=True)``) exceeds this
        are log-transformed.
    log : "auto", sequence of int, or None/False, default "auto"
        Which columns to log-transform: chosen by skewness, given by index,
        or none.
    method : {"zscore", "minmax"}, default "zscore"
        ``(t - mean) / std`` or ``(t - min) / (max - min)`` of the (possibly
        log-transformed) training data ``t``; population std (``ddof=0``).

    Attributes
    ----------
    n_features_in_ : int
    skewness_ : (n_features,) ndarray
        Skewness ``g1`` of each raw training column.
    log_columns_ : (n_features,) bool ndarray
        Columns that are log-transformed.
    log_sign_ : (n_features,) ndarray
        ``s``: +1 for right-skewed (or zero-skew) columns, -1 for left-skewed.
    log_shift_ : (n_features,) ndarray
        ``m = min(s * x_train)``.
    log_scale_ : (n_features,) ndarray
        ``c = std(x_train)`` (1.0 where that is negligible).
    center_, scale_ : (n_features,) ndarray
        Mean and std (``"zscore"``) or min and range (``"minmax"``) of the
        log-transformed training data; a negligible scale is set to 1.0 and
        a constant column is centred on its value.

    Notes
    -----
    For a log-transformed column the transform is

    ``t = s * log1p((max(s * x, m) - m) / c)``

    i.e. the column is mirrored if left-skewed (``s = -1``), shifted so that
    the training minimum maps to 0 and divided by the training std, which
    makes it scale-free (a plain ``log1p(x)`` is the identity on values of
    1e-3) and safe for negative values. Test values beyond the training
    minimum (after mirroring) are clipped to it; multiplying back by ``s``
    keeps the order of the original values. Then
    ``z = (t - center_) / scale_``. Other columns use ``t = x``.

    A column that is constant on the training data has skewness 0 and scale
    1.0, so it maps to 0 on the training data and to ``x - center_``
    elsewhere (as scikit-learn's ``StandardScaler``): never NaN or inf.
    """

    def __init__(
        self,
        skew_threshold: float = 1.0,
        log: Literal["auto"] | Sequence[int] | None | bool = "auto",
        method: Literal["zscore", "minmax"] = "zscore",
    ) -> None:
        self.skew_threshold = skew_threshold
        self.log = log
        self.method = method

    # -- validation ------------------------------------------------------------

    def _check_X(self, X: ArrayLike, fitting: bool) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features), got shape {X.shape}; "
                "reshape a single feature with X.reshape(-1, 1)"
            )
        if X.shape[0] == 0:
            raise ValueError("X has no samples")
        bad = ~np.isfinite(X)
        if bad.any():
            col = int(np.flatnonzero(bad.any(axis=0))[0])
            what = "NaN" if np.isnan(X[:, col]).any() else "inf"
            raise ValueError(
                f"column {col} of X contains {what}; impute missing values before normalising"
            )
        if not fitting:
            if not hasattr(self, "n_features_in_"):
                raise RuntimeError("this Normalizer is not fitted yet; call fit(X) first")
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the Normalizer was fitted "
                    f"with {self.n_features_in_}"
                )
        return X

    def _log_mask(self, skewness: np.ndarray) -> np.ndarray:
        n = skewness.size
        if isinstance(self.log, str):
            if self.log != "auto":
                raise ValueError(f"log must be 'auto', a list of columns or None, got {self.log!r}")
            return np.abs(skewness) > self.skew_threshold
        if self.log is None or self.log is False:
            return np.zeros(n, dtype=bool)
        if self.log is True:
            raise ValueError("log=True is ambiguous: use 'auto' or a list of column indices")
        cols = np.asarray(self.log, dtype=np.int64).ravel()
        if cols.size and (cols.min() < -n or cols.max() >= n):
            raise ValueError(f"log column index out of range for {n} features: {cols.tolist()}")
        mask = np.zeros(n, dtype=bool)
        mask[cols] = True
        return mask

    # -- the transform --------------------------------------------------------

    def _log_part(self, X: np.ndarray) -> np.ndarray:
        """``t``: log-transform the selected columns with the fitted constants."""
        cols = self.log_columns_
        if not cols.any():
            return X.copy()
        Xt = X.copy()
        s = self.log_sign_[cols]
        c = self.log_scale_[cols]
        u = np.maximum(s * X[:, cols], self.log_shift_[cols]) - self.log_shift_[cols]
        with np.errstate(over="ignore", divide="ignore"):
            r = u / c
            # u / c overflows when a value lies ~1e308 training spreads away (a column whose
            # training values differ by 1e-308): log1p(u / c) = log(u) - log(c) + O(c / u)
            # there, and both logs are finite
            Xt[:, cols] = s * np.where(np.isfinite(r), np.log1p(r), np.log(u) - np.log(c))
        return Xt

    def fit(self, X: ArrayLike, y: object = None) -> Normalizer:
        """Learn the skewness, log and scaling constants from training data.

        Parameters
        ----------
        X : (n_samples, n_features) array-like
            Training features; finite.
        y : ignored

        Returns
        -------
        self
        """
        if self.method not in ("zscore", "minmax"):
            raise ValueError(f"method must be 'zscore' or 'minmax', got {self.method!r}")
        X = self._check_X(X, fitting=True)
        magnitude = np.abs(X).max(axis=0)
        self.n_features_in_ = X.shape[1]
        self.skewness_ = sample_skewness(X)
        self.log_columns_ = self._log_mask(self.skewness_)
        self.log_sign_ = np.where(self.skewness_ < 0, -1.0, 1.0)
        self.log_shift_ = (self.log_sign_ * X).min(axis=0)
        self.log_scale_ = _guard_scale(_std(X), magnitude)

        Xt = self._log_part(X)
        t_mag = np.abs(Xt).max(axis=0)
        if self.method == "zscore":
            spread = _std(Xt)
            # The mean of n copies of 0.37 is not exactly 0.37; centring a
            # constant column on one of its values makes its output exactly 0.
            self.center_ = np.where(_is_tiny(spread, t_mag), Xt[0], Xt.mean(axis=0))
        else:
            self.center_ = Xt.min(axis=0)
            spread = Xt.max(axis=0) - self.center_
        self.scale_ = _guard_scale(spread, t_mag)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Apply the training constants to ``X``.

        Parameters
        ----------
        X : (n_samples, n_features) array-like

        Returns
        -------
        (n_samples, n_features) float64 ndarray
        """
        X = self._check_X(X, fitting=False)
        with np.errstate(over="ignore", invalid="ignore"):
            Z = (self._log_part(X) - self.center_) / self.scale_
        bad = ~np.isfinite(Z)
        if bad.any():  # a finite input whose normalised value overflows: an absurd outlier
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f"X[{i}, {j}] = {X[i, j]:.6g} is out of range: normalised with the "
                             f"training column's scale ({self.scale_[j]:.3g}) it overflows; "
                             "check this value in the data")
        return Z

    def fit_transform(self, X: ArrayLike, y: object = None) -> np.ndarray:
        """``fit(X).transform(X)``.

        Parameters
        ----------
        X : (n_samples, n_features) array-like
        y : ignored

        Returns
        -------
        (n_samples, n_features) float64 ndarray
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: ArrayLike) -> np.ndarray:
        """Map normalised values back to the original feature scale.

        Exact for values that were not clipped in :meth:`transform`.

        Parameters
        ----------
        Z : (n_samples, n_features) array-like

        Returns
        -------
        (n_samples, n_features) float64 ndarray
        """
        Z = self._check_X(Z, fitting=False)
        Xt = Z * self.scale_ + self.center_
        cols = self.log_columns_
        if cols.any():
            s = self.log_sign_[cols]
            # Inverse of t = s*log1p((s*x - m)/c): s*x = m + c*expm1(s*t).
            sx = self.log_shift_[cols] + self.log_scale_[cols] * np.expm1(s * Xt[:, cols])
            Xt[:, cols] = s * sx
        return Xt

    def __repr__(self) -> str:
        return (
            f"Normalizer(skew_threshold={self.skew_threshold!r}, log={self.log!r}, "
            f"method={self.method!r})"
        )
