"""A built-in, offline facial-expression data set: procedurally drawn faces.

Every command defaults to this data so that the whole pipeline runs without the
research-licensed SFEW files::

    from bpnet.data.synthetic import synthetic_faces
    data = synthetic_faces(n_per_class=60, seed=0)   # ImageDataset, images (420, 64, 64, 3)

Each face is drawn with NumPy from an identity (head shape, skin tone, hair, glasses,
feature placement and a resting expression of its own) and one of the seven
expressions of :data:`bpnet.data.sfew.CLASS_NAMES`, shown at a random intensity,
under random pose, scale, position, lighting, background clutter and noise. The
expressions are parameter sets of action-unit-like controls (brow height, tilt
and gap, eye opening, mouth width, corner lift and opening, nose wrinkle, ...)
chosen so that some pairs differ subtly, as in real data: Fear vs Surprise (raised
brows, wide eyes, open mouth), Angry vs Disgust (lowered brows, narrowed eyes) and
Neutral vs Sad (a slight brow and mouth-corner change); expressions are shown at
50-100 % intensity, so the weak ones are genuinely ambiguous.

Calibration (default set: 420 faces, 64 px; grey, resized to 32x32, each image
z-scored; scikit-learn, 5-fold CV, seeds 0-2; stratified / identity-grouped):
logistic regression (C=0.3) 52-55 % / 57-61 %, MLP(256) 43-45 % / 50-53 %,
RBF-SVM 31-34 % / 39-43 %; logistic regression on 2100 faces 78 % / 79 %. Chance is
14.3 %. Most confusions: Neutral-Sad, Fear-Surprise, Angry-Disgust, Angry-Neutral.
Grouped beats stratified because each person shows every expression once: in a
random split the test face's own identity sits in training under other labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import facedraw
from .image_dataset import ImageDataset
from .sfew import CLASS_NAMES

__all__ = ["EXPRESSIONS", "sample_sheet", "synthetic_faces", "write_image_folder"]

#: Expression controls, their neutral value, and the per-image noise added to them.
_CONTROLS = {  # name: (neutral, noise sd)
    "brow_raise": (0.0, 0.008), "brow_tilt": (0.0, 0.006), "brow_gap": (0.0, 0.005),
    "brow_arch": (0.012, 0.004), "eye_up": (1.0, 0.08), "eye_lo": (1.0, 0.08),
    "mouth_scale": (1.0, 0.04), "corner": (0.0, 0.008), "open_u": (0.0, 0.004),
    "open_l": (0.0, 0.006), "round": (0.0, 0.05), "teeth": (0.0, 0.1), "wrinkle": (0.0, 0.08),
    "flare": (0.0, 0.1), "fold": (0.0, 0.1), "forehead": (0.0, 0.08), "frown": (0.0, 0.08),
    "mouth_shift": (0.0, 0.005), "sneer": (0.0, 0.004), "lip": (1.0, 0.08), "droop": (0.0, 0.1),
}

#: Change of each control at full intensity, per expression (none for Neutral).
EXPRESSIONS: dict[str, dict[str, float]] = {
    "Angry": {"brow_raise": -0.075, "brow_tilt": 0.09, "brow_gap": -0.045, "brow_arch": -0.018,
              "eye_up": -0.6, "eye_lo": -0.225, "mouth_scale": -0.3, "corner": -0.0225, "lip": -0.75,
              "frown": 1.5, "flare": 0.9},
    "Disgust": {"brow_raise": -0.0525, "brow_tilt": 0.045, "brow_gap": -0.0225, "eye_up": -0.525,
                "eye_lo": -0.75, "wrinkle": 1.5, "flare": 1.5, "sneer": 0.075, "open_u": 0.0375,
                "teeth": 1.2, "corner": -0.06, "fold": 1.2, "mouth_shift": -0.045, "lip": 0.225},
    "Fear": {"brow_raise": 0.09, "brow_tilt": -0.06, "brow_gap": -0.03, "brow_arch": -0.012,
             "eye_up": 1.2, "eye_lo": 0.225, "mouth_scale": 0.3, "open_u": 0.03, "open_l": 0.09,
             "corner": -0.0525, "teeth": 1.05, "forehead": 1.05},
    "Happy": {"corner": 0.135, "mouth_scale": 0.45, "open_u": 0.0225, "open_l": 0.075, "teeth": 1.5,
              "eye_lo": -0.9, "eye_up": -0.225, "fold": 1.5, "brow_raise": 0.012},
    "Neutral": {},
    "Sad": {"brow_tilt": -0.0675, "brow_raise": 0.012, "brow_arch": -0.018, "eye_up": -0.45,
            "droop": 1.5, "corner": -0.075, "mouth_scale": -0.12, "lip": 0.225, "mouth_shift": 0.0225},
    "Surprise": {"brow_raise": 0.15, "brow_arch": 0.06, "eye_up": 1.5, "eye_lo": 0.3,
                 "mouth_scale": -0.525, "open_u": 0.105, "open_l": 0.18, "round": 1.5,
                 "forehead": 1.5, "teeth": 0.3},
}

_SKIN = np.array([[0.98, 0.86, 0.76], [0.92, 0.74, 0.55], [0.78, 0.54, 0.34],
                  [0.56, 0.35, 0.19], [0.36, 0.23, 0.15]])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.30, 0.18, 0.09], [0.55, 0.40, 0.22],
                  [0.85, 0.72, 0.45], [0.62, 0.60, 0.58], [0.55, 0.22, 0.08]])
_IRIS = np.array([[0.25, 0.15, 0.08], [0.12, 0.08, 0.05], [0.25, 0.42, 0.62], [0.30, 0.45, 0.28]])
# Nuisance ranges, calibrated together with EXPRESSIONS to the accuracies quoted above.
_INTENSITY = (0.5, 1.0)  # fraction of the full expression shown
_LIGHT = {"bright": (0.85, 1.1), "gradient": 0.25}
_CLUTTER = (0.3, 0.9)  # opacity range of background blobs
_N_BLOBS = 6
# Pose jitter (face units; the head is ~1.6 tall in a frame 2 wide): roughly what a
# face detector plus eye alignment leaves in a cropped FER image.
_POSE = {"shift": 0.03, "rot": 0.05, "scale": (1.05, 1.2), "yaw": 0.02, "up": 0.06}
_CHUNK = 32  # images rendered at once: float temporaries stay cache-sized (fastest measured)


def _identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-identity parameters, each of shape (n,) or (n, 3) for colours."""
    U = rng.uniform
    tone = U(0, 1, n) * (len(_SKIN) - 1)
    lo = np.floor(tone).astype(int).clip(0, len(_SKIN) - 2)
    skin = _SKIN[lo] + (tone - lo)[:, None] * (_SKIN[lo + 1] - _SKIN[lo]) + rng.normal(0, 0.02, (n, 3))
    ident = {
        "face_w": U(0.54, 0.66, n), "face_h": U(0.74, 0.86, n), "chin": U(0.1, 0.35, n),
        "skin": skin.clip(0, 1), "hair": _HAIR[rng.integers(0, len(_HAIR), n)] * U(0.8, 1.2, (n, 1)),
        "has_hair": (U(0, 1, n) < 0.93).astype(float), "hair_len": U(0, 1, n) * (U(0, 1, n) < 0.4),
        "hairline": U(0.55, 0.8, n), "parting": rng.normal(0, 0.12, n),
        "eye_x": U(0.21, 0.25, n), "eye_y": U(-0.13, -0.09, n), "eye_w": U(0.095, 0.125, n),
        "eye_h": U(0.045, 0.06, n), "iris": _IRIS[rng.integers(0, len(_IRIS), n)],
        "brow_dist": U(0.11, 0.15, n), "brow_len": U(0.11, 0.15, n), "brow_w": U(0.04, 0.06, n),
        "nose_y": U(0.14, 0.18, n), "mouth_y": U(0.37, 0.41, n), "mouth_w": U(0.15, 0.2, n),
        "lip_col": (skin * [0.85, 0.55, 0.55] + rng.normal(0, 0.03, (n, 3))).clip(0, 1),
        "glasses": (U(0, 1, n) < 0.15).astype(float), "shirt": U(0.05, 0.95, (n, 3)),
    }
    # A resting expression of each person's own: some faces look a little sad or stern.
    ident["rest"] = rng.normal(0, 1, (n, len(_CONTROLS))) * [sd for _, sd in _CONTROLS.values()] * 1.5
    return ident


def _expression_controls(rng: np.random.Generator, ident: dict[str, np.ndarray], y: np.ndarray,
                         who: np.ndarray) -> dict[str, np.ndarray]:
    """Face parameters per image (n,): identity + resting face + intensity * expression + noise."""
    n = len(y)
    controls = list(_CONTROLS)
    neutral = np.array([v for v, _ in _CONTROLS.values()])
    sd = np.array([s for _, s in _CONTROLS.values()])
    delta = np.array([[EXPRESSIONS[c].get(m, 0.0) for m in controls] for c in CLASS_NAMES])
    intensity = rng.uniform(*_INTENSITY, n)
    noise = rng.normal(0, 1, (n, len(sd))) * sd
    value = neutral + ident["rest"][who] + intensity[:, None] * delta[y] + noise
    p = {m: value[:, j] for j, m in enumerate(controls)}
    for m in ("eye_up", "eye_lo", "lip", "mouth_scale"):  # multipliers: stay positive
        p[m] = np.clip(p[m], 0.15, None)
    for m in ("teeth", "wrinkle", "flare", "fold", "forehead", "frown", "round", "droop"):  # amounts
        p[m] = np.clip(p[m], 0, 1)
    for m in ("open_u", "open_l", "sneer"):
        p[m] = np.clip(p[m], 0, None)
    p.update({key: val[who] for key, val in ident.items() if key != "rest"})
    p["mouth_w"] = p["mouth_w"] * p.pop("mouth_scale")
    p["mouth_y"] = p["mouth_y"] + p.pop("mouth_shift")
    p["sneer_side"] = rng.choice([-1.0, 1.0], n)
    p["gaze"] = rng.normal(0, 0.012, n)
    return p


def _scene(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Pose, lighting and background parameters per image."""
    U = rng.uniform
    strength, angle = U(0, _LIGHT["gradient"], n), U(0, 2 * np.pi, n)
    blob_shape = (n, _N_BLOBS, 1)
    return {
        "tx": rng.normal(0, _POSE["shift"], n), "ty": rng.normal(-_POSE["up"], _POSE["shift"], n),
        "scale": U(*_POSE["scale"], n), "rot": rng.normal(0, _POSE["rot"], n),
        "yaw": rng.normal(0, _POSE["yaw"], n), "bright": U(*_LIGHT["bright"], n),
        "light_x": strength * np.cos(angle), "light_y": strength * np.sin(angle),
        "bg": U(0.15, 0.85, (n, 3)), "bg_grad": rng.normal(0, 0.25, (n, 2)),
        "stripe": np.column_stack([rng.normal(0, 12, (n, 2)), U(0, 0.12, n) * (U(0, 1, n) < 0.3)]),
        # per blob: centre (2), half-sizes (2), rectangle flag, opacity, RGB (3)
        "blobs": np.concatenate([U(-1.2, 1.2, (n, _N_BLOBS, 2)), U(0.08, 0.5, (n, _N_BLOBS, 2)),
                                 U(0, 1, blob_shape) < 0.5,
                                 U(*_CLUTTER, blob_shape) * (U(0, 1, blob_shape) < 0.7),
                                 U(0, 1, (n, _N_BLOBS, 3))], axis=2),
    }


def _render(p: dict[str, np.ndarray], size: int, noise: np.ndarray) -> np.ndarray:
    """Draw a batch; ``p`` holds (b,) or (b, k) arrays. Returns float (b, size, size, 3)."""
    # float32 halves the memory traffic; 8-bit output needs nothing finer.
    p = {k: (v[:, None, None] if v.ndim == 1 else v).astype(np.float32) for k, v in p.items()}
    g = ((np.arange(size) + 0.5) / size * 2 - 1).astype(np.float32)
    gx, gy = g[None, None, :], g[None, :, None]
    img = facedraw.background(gx, gy, p)
    x, y = (gx - p["tx"]) / p["scale"], (gy - p["ty"]) / p["scale"]
    cos, sin = np.cos(p["rot"]), np.sin(p["rot"])
    u, v = cos * x + sin * y, -sin * x + cos * y
    px = 2.0 / (size * p["scale"])  # one pixel in face units: the anti-aliasing width
    facedraw.face(img, u, v, px, p)
    light = p["bright"] * (1 + p["light_x"] * gx + p["light_y"] * gy)
    return img * light[..., None] + noise


def synthetic_faces(
    n_per_class: int = 60,
    size: int = 64,
    seed: int = 0,
    n_identities: int | None = None,
    rgb: bool = True,
) -> ImageDataset:
    """Procedurally drawn faces showing the seven expressions.

    Parameters
    ----------
    n_per_class : int
        Images per expression; 7 * n_per_class in all.
    size : int
        Height and width in pixels.
    seed : int
        Seed of the one ``np.random.default_rng`` used; same seed, same bytes.
    n_identities : int, optional
        Number of people; default ``n_per_class`` (so each person shows each
        expression about once, like posed databases). Each expression's images
        cycle through all identities, so every identity appears with several
        expressions once ``n_per_class >= n_identities``.
    rgb : bool
        Colour images (n, size, size, 3); False gives luminance (n, size, size).

    Returns
    -------
    ImageDataset
        ``images`` uint8, ``y`` (n,) in 0..6 (class-major order, by identity within a
        class), ``groups`` the identity (``'face007'``) for person-independent splits,
        ``names`` like ``'face007_Happy_0012'`` (the group is the part before the last
        two ``_`` fields, as for SFEW movies).
    """
    if n_per_class < 1 or size < 16:
        raise ValueError(f"need n_per_class >= 1 and size >= 16, got {n_per_class}, {size}")
    n_id = n_per_class if n_identities is None else int(n_identities)
    if n_id < 1:
        raise ValueError(f"n_identities must be >= 1, got {n_identities}")
    rng = np.random.default_rng(seed)
    ident = _identities(rng, n_id)
    k = len(CLASS_NAMES)
    y = np.repeat(np.arange(k), n_per_class)
    who = np.concatenate([np.sort(rng.permutation(np.resize(np.arange(n_id), n_per_class)))
                          for _ in range(k)])
    n = len(y)

    p = _expression_controls(rng, ident, y, who)
    p.update(_scene(rng, n))
    noise_sd = (rng.uniform(2, 8, n) / 255).astype(np.float32)

    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        b = len(y[part])
        noise = rng.standard_normal((b, size, size, 3), dtype=np.float32)
        noise *= noise_sd[part, None, None, None]
        batch = _render({key: val[part] for key, val in p.items()}, size, noise)
        images[part] = np.clip(np.rint(batch * 255), 0, 255).astype(np.uint8)
    if not rgb:
        images = np.rint(images @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    width, width_i = max(3, len(str(n_id - 1))), max(4, len(str(n_per_class - 1)))
    counter = np.tile(np.arange(n_per_class), k)
    names = [f"face{w:0{width}d}_{CLASS_NAMES[c]}_{i:0{width_i}d}" for w, c, i in zip(who, y, counter)]
    groups = np.array([f"face{w:0{width}d}" for w in who])
    return ImageDataset(images, y, groups, names, CLASS_NAMES)


def write_image_folder(dataset: ImageDataset, root: str | Path, fmt: str = "png") -> Path:
    """Write ``root/<Emotion>/<name>.<fmt>`` so that any image tool can read the set.

    Parameters
    ----------
    dataset : ImageDataset
    root : str or Path
        Created if needed; a folder is made for every class, even an empty one.
    fmt : {"png", "jpg"}
        PNG is lossless, so :func:`bpnet.data.image_dataset.load_images` gives back the pixels.

    Returns
    -------
    Path
        ``root``, ready for :func:`bpnet.data.image_folder.scan_image_folder`.
    """
    from PIL import Image

    fmt = fmt.lower().lstrip(".")
    if fmt not in ("png", "jpg", "jpeg"):
        raise ValueError(f"fmt must be 'png' or 'jpg', got {fmt!r}")
    root = Path(root)
    for cls in dataset.class_names:
        (root / cls).mkdir(parents=True, exist_ok=True)
    for image, label, name in zip(dataset.images, dataset.y, dataset.names):
        Image.fromarray(image).save(root / dataset.class_names[label] / f"{name}.{fmt}")
    return root


def sample_sheet(dataset: ImageDataset, path: str | Path, per_class: int = 8,
                 seed: int | None = None) -> Path:
    """Save a PNG grid: one labelled row per expression, ``per_class`` images each.

    Parameters
    ----------
    dataset : ImageDataset
    path : str or Path
    per_class : int
        Columns; a class with fewer images leaves blanks.
    seed : int, optional
        Pick the images at random with this seed; None takes the first ones.

    Returns
    -------
    Path
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    rng = None if seed is None else np.random.default_rng(seed)
    k = len(dataset.class_names)
    fig = Figure(figsize=(1.1 * per_class + 1.2, 1.15 * k))
    FigureCanvasAgg(fig)
    axes = fig.subplots(k, per_class, squeeze=False)
    for c, row in enumerate(axes):
        idx = np.flatnonzero(dataset.y == c)
        if rng is not None:
            idx = rng.permutation(idx)
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(idx):
                ax.imshow(dataset.images[idx[j]], cmap="gray", vmin=0, vmax=255)
            if j == 0:
                ax.set_ylabel(dataset.class_names[c], rotation=0, ha="right", va="center")
    fig.subplots_adjust(left=0.12, right=0.99, top=0.99, bottom=0.01, wspace=0.05, hspace=0.05)
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
