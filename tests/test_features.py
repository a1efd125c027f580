"""Tests for bpnet.data.features: PHOG, LPQ, PCA and the dataset-1 rebuild.

Oracles: hand-computed tiny images, a slow per-pixel STFT written out with complex
exponentials, plain histograms computed here, and scikit-learn's PCA.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from bpnet.data.descriptors import _stft_responses
from bpnet.data.features import (
    PCA,
    DescriptorPCA,
    canny_edges,
    describe_images,
    extract_features,
    load_image,
    lpq,
    lpq_codes,
    lpq_decorrelation,
    pca,
    phog,
    to_gray,
)


def texture(shape, seed=0, smooth=1.0):
    """A smooth random texture in 0..255."""
    img = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), smooth)
    return 255 * (img - img.min()) / np.ptp(img)


# --------------------------------------------------------------------------- to_gray

def test_to_gray_uses_bt601_weights_and_ignores_alpha():
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 100, 50, 200, 7
    gray = to_gray(rgba)
    assert gray.dtype == np.float64 and gray.shape == (2, 3)
    np.testing.assert_allclose(gray, 0.299 * 100 + 0.587 * 50 + 0.114 * 200)
    np.testing.assert_array_equal(to_gray(np.arange(6).reshape(2, 3)), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 2, 2)), np.full((2, 2), np.nan)])
def test_to_gray_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        to_gray(bad)


# --------------------------------------------------------------------------- PHOG

@pytest.mark.parametrize("angle", [180, 360])
@pytest.mark.parametrize("edges", ["canny", "none"])
@pytest.mark.parametrize("orientation, flip, bin_360, bin_180", [
    ("vertical", False, 0, 0),    # dark | bright: gradient points right, 0 degrees
    ("vertical", True, 4, 0),     # bright | dark: 180 degrees, folds to 0 when unsigned
    ("horizontal", False, 2, 4),  # dark above bright: gradient points down (rows), 90 degrees
])
def test_phog_step_edge_puts_all_mass_in_one_bin(angle, edges, orientation, flip, bin_360,
                                                   bin_180):
    img = np.zeros((16, 16))
    img[:, 8:] = 200.0
    if flip:
        img = img[:, ::-1]
    if orientation == "horizontal":
        img = img.T
    level0 = phog(img, bins=8, levels=0, angle=angle, edges=edges)
    expected = np.zeros(8)
    expected[bin_360 if angle == 360 else bin_180] = 1.0
    np.testing.assert_allclose(level0, expected, atol=1e-15)


def test_phog_vertical_edge_lands_in_the_cells_it_crosses():
    img = np.zeros((16, 16))
    img[:, 5:] = 1.0  # edge in the left half: level-1 cells 0 (top-left) and 2 (bottom-left)
    desc = phog(img, bins=4, levels=1)
    level1 = desc[4:].reshape(4, 4)  # (cell, bin), cells row-major
    np.testing.assert_allclose(level1[:, 0], [0.25, 0.0, 0.25, 0.0])
    assert np.all(level1[:, 1:] == 0)


@pytest.mark.parametrize("edges", ["canny", "none"])
def test_phog_constant_image_is_all_zeros(edges):
    desc = phog(np.full((20, 30), 77.0), edges=edges)
    assert desc.shape == (680,)
    np.testing.assert_array_equal(desc, 0.0)


@pytest.mark.parametrize("bins, levels", [(8, 3), (9, 2), (4, 0)])
def test_phog_length_and_level_sums(bins, levels):
    desc = phog(texture((37, 45)), bins=bins, levels=levels)
    sizes = [bins * 4 ** level for level in range(levels + 1)]
    assert desc.shape == (sum(sizes),)
    # Every level histograms the same voting pixels, so the unit mass splits evenly.
    np.testing.assert_allclose([part.sum() for part in np.split(desc, np.cumsum(sizes)[:-1])],
                               1.0 / (levels + 1))


@pytest.mark.parametrize("angle", [180, 360])
@pytest.mark.parametrize("edges", ["canny", "none"])
def test_phog_level0_equals_plain_orientation_histogram(angle, edges):
    img = texture((40, 52), seed=3)
    bins, levels = 8, 2
    g_row, g_col = np.gradient(img)
    weight = np.hypot(g_row, g_col) * (canny_edges(img) if edges == "canny" else 1.0)
    theta = np.degrees(np.arctan2(g_row, g_col)) % angle
    hist, _ = np.histogram(theta, bins=np.linspace(0, angle, bins + 1), weights=weight)
    desc = phog(img, bins=bins, levels=levels, angle=angle, edges=edges)
    np.testing.assert_allclose(desc[:bins] * (levels + 1), hist / hist.sum(), rtol=1e-12)
    # And one level-1 cell (bottom-right quadrant) against the same histogram on that quadrant.
    quad = (slice(20, None), slice(26, None))
    hist_q, _ = np.histogram(theta[quad], bins=np.linspace(0, angle, bins + 1),
                             weights=weight[quad])
    np.testing.assert_allclose(desc[bins + 3 * bins:bins + 4 * bins] * (levels + 1),
                               hist_q / hist.sum(), rtol=1e-12)


def test_canny_gives_a_thin_line_on_a_step_and_nothing_on_a_flat_image():
    img = np.zeros((20, 20))
    img[:, 10:] = 1.0
    edges = canny_edges(img)
    np.testing.assert_array_equal(edges.sum(axis=0), np.where(np.arange(20) == 9, 20, 0))
    assert not canny_edges(np.full((20, 20), 3.0)).any()


@pytest.mark.parametrize("kwargs", [dict(angle=90), dict(edges="sobel"), dict(bins=0)])
def test_phog_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        phog(texture((10, 10)), **kwargs)


# --------------------------------------------------------------------------- LPQ

FREQS = lambda a: [(a, 0.0), (0.0, a), (a, a), (a, -a)]  # noqa: E731  (u_col, u_row)


def slow_stft(img, win):
    """F(u, x) = sum_y f(x - y) exp(-2 pi i u.y), one pixel and one offset at a time."""
    r = (win - 1) // 2
    h, w = img.shape[0] - 2 * r, img.shape[1] - 2 * r
    out = np.zeros((8, h, w))
    for k, (u_col, u_row) in enumerate(FREQS(1.0 / win)):
        for i in range(h):
            for j in range(w):
                total = 0j
                for dy in range(-r, r + 1):
                    for dx in range(-r, r + 1):
                        pixel = img[i + r - dy, j + r - dx]
                        total += pixel * np.exp(-2j * np.pi * (u_col * dx + u_row * dy))
                out[2 * k, i, j], out[2 * k + 1, i, j] = total.real, total.imag
    return out


def codes_from(F):
    return sum((F[j] > 0).astype(int) << j for j in range(8))


@pytest.mark.parametrize("win", [3, 5, 7])
def test_lpq_matches_slow_reference(win):
    img = np.random.default_rng(win).random((win + 6, win + 4))
    F = slow_stft(img, win)
    np.testing.assert_allclose(_stft_responses(img, win), F, atol=1e-11)
    np.testing.assert_array_equal(lpq_codes(img, win=win, decorrelate=False), codes_from(F))
    whitened = np.tensordot(lpq_decorrelation(win), F, axes=1)
    codes = lpq_codes(img, win=win, decorrelate=True)
    np.testing.assert_array_equal(codes, codes_from(whitened))
    np.testing.assert_allclose(lpq(img, win=win), np.bincount(codes.ravel(), minlength=256)
                               / codes.size)


@pytest.mark.parametrize("win, rho", [(3, 0.9), (7, 0.9), (7, 0.5)])
def test_lpq_decorrelation_whitens_the_pixel_model(win, rho):
    r = (win - 1) // 2
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    C = np.array([[rho ** np.hypot(a[0] - b[0], a[1] - b[1]) for b in offsets] for a in offsets])
    M = np.array([[np.exp(-2j * np.pi * (uc * dx + ur * dy)) for dy, dx in offsets]
                  for uc, ur in FREQS(1.0 / win)])
    M = np.stack([part for row in M for part in (row.real, row.imag)])
    D = M @ C @ M.T
    Vt = lpq_decorrelation(win, rho)
    np.testing.assert_allclose(Vt @ Vt.T, np.eye(8), atol=1e-12)
    cov = Vt @ D @ Vt.T
    off = cov - np.diag(np.diag(cov))
    assert np.abs(off).max() < 1e-4 * np.abs(np.diag(cov)).max()
    assert np.all(Vt[np.arange(8), np.abs(Vt).argmax(axis=1)] > 0)  # sign convention


def test_lpq_histogram_shape_and_constant_image():
    hist = lpq(texture((30, 40)))
    assert hist.shape == (256,) and np.isclose(hist.sum(), 1.0)
    assert lpq_codes(texture((30, 40)), win=5).shape == (26, 36)
    for decorrelate in (False, True):  # a flat window has no phase: code 0, not noise
        flat = lpq(np.full((20, 20), 123.0), decorrelate=decorrelate)
        np.testing.assert_array_equal(flat, np.eye(256)[0])


@pytest.mark.parametrize("blur", ["uniform3", "gauss1"])
def test_lpq_codes_exactly_blur_invariant_on_periodic_texture(blur):
    # A texture of period win has, inside every window, only the frequencies m/win, so the
    # STFT is exact and a centrally symmetric blur multiplies F(u) by the real H(u) > 0
    # (e.g. (1 + 2 cos(2 pi / 7)) / 3 per axis for the 3x3 box): the signs, hence every
    # code, must be unchanged. decorrelate=False because whitening mixes frequencies with
    # different H(u), which keeps most codes but not all of them.
    tex = np.tile(np.random.default_rng(1).random((7, 7)), (7, 7))
    if blur == "uniform3":
        blurred = ndimage.uniform_filter(tex, 3, mode="wrap")
    else:
        blurred = ndimage.gaussian_filter(tex, 1.0, mode="wrap")
    codes = lpq_codes(tex, decorrelate=False)
    np.testing.assert_array_equal(lpq_codes(blurred, decorrelate=False), codes)
    # Contrast: a blur that is not centrally symmetric (zero centroid, so no mere shift)
    # and white noise of the same energy as the blur's change both scramble the codes.
    kernel = np.zeros((5, 5))
    kernel[2, 1], kernel[2, 2], kernel[2, 4], kernel[0, 2], kernel[4, 2] = 4, 2, 2, 1, 1
    skewed = ndimage.convolve(tex, kernel / kernel.sum(), mode="wrap")
    assert np.mean(lpq_codes(skewed, decorrelate=False) == codes) < 0.6
    noise = np.random.default_rng(2).standard_normal(tex.shape)
    noise *= np.linalg.norm(blurred - tex) / np.linalg.norm(noise)
    assert np.mean(lpq_codes(tex + noise, decorrelate=False) == codes) < 0.2


@pytest.mark.parametrize("decorrelate", [False, True])
def test_lpq_codes_mostly_kept_under_symmetric_blur_of_random_texture(decorrelate):
    # On a generic texture the window cuts the spectrum, so invariance is approximate:
    # far more codes survive a 3x3 box blur than white noise of the same energy.
    tex = np.random.default_rng(4).random((96, 96))
    blurred = ndimage.uniform_filter(tex, 3)
    noise = np.random.default_rng(5).standard_normal(tex.shape)
    noise *= np.linalg.norm(blurred - tex) / np.linalg.norm(noise)
    inner = (slice(4, -4), slice(4, -4))  # away from the blur's border handling
    codes = lpq_codes(tex, decorrelate=decorrelate)[inner]
    kept_blur = np.mean(lpq_codes(blurred, decorrelate=decorrelate)[inner] == codes)
    kept_noise = np.mean(lpq_codes(tex + noise, decorrelate=decorrelate)[inner] == codes)
    assert kept_blur > 2 * kept_noise


@pytest.mark.parametrize("kwargs", [dict(win=4), dict(win=1), dict(rho=1.0)])
def test_lpq_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        lpq(texture((20, 20)), **kwargs)


def test_lpq_rejects_image_smaller_than_window():
    with pytest.raises(ValueError, match="smaller"):
        lpq(np.zeros((6, 30)), win=7)


# --------------------------------------------------------------------------- PCA

@pytest.mark.parametrize("shape", [(40, 12), (9, 20)])
@pytest.mark.parametrize("n_components", [1, 5, None])
def test_pca_matches_sklearn(shape, n_components):
    sk_decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(shape[0])
    X = rng.standard_normal(shape) @ rng.standard_normal((shape[1], shape[1])) + 3.0
    X_new = rng.standard_normal((7, shape[1]))
    ours = PCA(n_components).fit(X)
    ref = sk_decomposition.PCA(n_components, svd_solver="full").fit(X)
    for attr in ("components_", "mean_", "explained_variance_", "explained_variance_ratio_",
                 "singular_values_"):
        np.testing.assert_allclose(getattr(ours, attr), getattr(ref, attr), atol=1e-10,
                                   err_msg=attr)
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new), atol=1e-10)
    np.testing.assert_allclose(PCA(n_components).fit_transform(X), ref.transform(X), atol=1e-10)
    np.testing.assert_allclose(pca(X, n_components), ref.transform(X), atol=1e-10)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X_new)),
                               ref.inverse_transform(ref.transform(X_new)), atol=1e-10)


def test_pca_errors():
    X = np.random.default_rng(0).random((5, 3))
    with pytest.raises(ValueError, match="n_components"):
        PCA(4).fit(X)
    with pytest.raises(RuntimeError):
        PCA(2).transform(X)
    with pytest.raises(ValueError, match="features"):
        PCA(2).fit(X).transform(X[:, :2])
    np.testing.assert_array_equal(PCA(2).fit(np.ones((4, 3))).explained_variance_ratio_, 0.0)


def test_descriptor_pca_fits_on_train_and_names_columns():
    rng = np.random.default_rng(0)
    lpq_desc, phog_desc = rng.random((12, 256)), rng.random((12, 40))
    red = DescriptorPCA(3).fit(lpq_desc[:8], phog_desc[:8])
    assert red.feature_names_ == ["lpq_pc1", "lpq_pc2", "lpq_pc3",
                                  "phog_pc1", "phog_pc2", "phog_pc3"]
    out = red.transform(lpq_desc[8:], phog_desc[8:])
    np.testing.assert_allclose(out[:, :3], PCA(3).fit(lpq_desc[:8]).transform(lpq_desc[8:]))
    np.testing.assert_allclose(out[:, 3:], PCA(3).fit(phog_desc[:8]).transform(phog_desc[8:]))


# --------------------------------------------------------------------------- folders

def test_describe_images_stack_and_paths_agree(tmp_path):
    imgs = np.stack([texture((24, 32), seed=s) for s in range(3)]).round().astype(np.uint8)
    paths = []
    for k, img in enumerate(imgs):
        paths.append(tmp_path / f"{k}.png")
        Image.fromarray(img).save(paths[-1])
    lpq_a, phog_a = describe_images(imgs, levels=2, progress=False)
    lpq_b, phog_b = describe_images(iter(paths), levels=2, progress=False)
    assert lpq_a.shape == (3, 256) and phog_a.shape == (3, 8 * 21)
    np.testing.assert_allclose(lpq_a, lpq_b)
    np.testing.assert_allclose(phog_a, phog_b)
    np.testing.assert_array_equal(load_image(paths[0], size=(16, 12)).shape, (12, 16))
    np.testing.assert_allclose(load_image(paths[0], face_crop=(2, 3, 12, 8)), imgs[0][3:8, 2:12])


def test_extract_features_on_generated_folder(tmp_path):
    classes = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    for c, name in enumerate(classes):
        (tmp_path / name).mkdir()
        for k in range(2):
            rgb = np.stack([texture((30, 36), seed=10 * c + k + j) for j in range(3)], axis=-1)
            Image.fromarray(rgb.round().astype(np.uint8)).save(
                tmp_path / name / f"Movie{c}_{k:09d}_{c:08d}.png")
    data, lpq_desc, phog_desc = extract_features(tmp_path, progress=False,
                                                 return_descriptors=True)
    assert data.X.shape == (14, 10) and np.all(np.isfinite(data.X))
    assert list(data.feature_names) == [f"lpq_pc{i}" for i in range(1, 6)] + \
        [f"phog_pc{i}" for i in range(1, 6)]
    np.testing.assert_array_equal(np.bincount(data.y), np.full(7, 2))
    assert lpq_desc.shape == (14, 256) and phog_desc.shape == (14, 680)
    np.testing.assert_allclose(data.X, DescriptorPCA(5).fit_transform(lpq_desc, phog_desc))
    small = extract_features(tmp_path, size=(24, 20), n_components=2, progress=False, levels=1)
    assert small.X.shape == (14, 4)


@pytest.mark.sfew
def test_real_sfew_frames(sfew_dir):
    paths = [sorted((sfew_dir / "images" / c).glob("*.jpg"))[0] for c in ("Angry", "Happy")]
    for path in paths:
        gray = load_image(path)
        assert gray.shape == (288, 360)
        edge_share = canny_edges(gray).mean()
        assert 0.01 < edge_share < 0.3  # MATLAB's 70 % rule bounds it from above
        desc_phog, desc_lpq = phog(gray), lpq(gray)
        assert desc_phog.shape == (680,) and np.isclose(desc_phog.sum(), 1.0)
        assert desc_lpq.shape == (256,) and np.isclose(desc_lpq.sum(), 1.0)
        assert np.count_nonzero(desc_lpq) > 100  # natural frames use most codes
