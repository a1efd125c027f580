"""Vectorised drawing of cartoon faces: the renderer behind :mod:`bpnet.data.synthetic`.

Every function works on a batch: parameters are arrays of shape (b, 1, 1) that
broadcast against pixel grids of shape (b, H, W), so there is no Python loop over
pixels or images. Shapes are given as approximate signed distances ``d`` (negative
inside, in face units) and turned into anti-aliased coverage by :func:`cover`.
Face coordinates: ``u`` right, ``v`` down, the head ellipse centred at the origin
with a height of about 1.6 units.
"""
from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def cover(d: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] of a shape with signed distance ``d``, edges ``px`` wide."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def ellipse(u: np.ndarray, v: np.ndarray, cu, cv, a, b) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse."""
    return (np.hypot((u - cu) / a, (v - cv) / b) - 1.0) * np.minimum(a, b)


def segment(u: np.ndarray, v: np.ndarray, u0, v0, u1, v1, width) -> np.ndarray:
    """Signed distance to a stroke of ``width`` from (u0, v0) to (u1, v1)."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv + 1e-12), 0.0, 1.0)
    return np.hypot(u - u0 - t * du, v - v0 - t * dv) - width / 2


def arc(u: np.ndarray, v: np.ndarray, cu, cv, half, lift, tilt, width) -> np.ndarray:
    """Stroke along ``v = cv - lift (1 - x^2) + tilt x`` with ``x = (u - cu) / half`` in [-1, 1]."""
    x = (u - cu) / half
    centre = cv - lift * (1 - x * x) + tilt * x
    slope = (2 * lift * x + tilt) / half
    return np.maximum(np.abs(v - centre) / np.sqrt(1 + slope * slope) - width / 2,
                      (np.abs(x) - 1) * half)


def paint(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` (b, 3) or (b, H, W, 3) into ``img`` (b, H, W, 3) in place."""
    alpha = np.broadcast_to(alpha, img.shape[:3])
    where = np.nonzero(alpha > 0)
    if len(where[0]) > img[..., 0].size // 4:
        colour = colour[:, None, None, :] if colour.ndim == 2 else colour
        img += alpha[..., None] * (colour - img)
        return
    # Eyes, nostrils and lips cover a few percent of the frame: updating only the
    # touched pixels is several times faster than blending the whole batch.
    colour = colour[where[0]] if colour.ndim == 2 else colour[where]
    img[where] += alpha[where][:, None] * (colour - img[where])


def shade(img: np.ndarray, alpha: np.ndarray, strength) -> None:
    """Darken ``img`` in place by ``strength`` where ``alpha`` is 1 (wrinkles, creases)."""
    img *= (1 - alpha * strength)[..., None]


def background(gx: np.ndarray, gy: np.ndarray, p: Params) -> np.ndarray:
    """Cluttered backdrop: base colour, gradient, random blobs and bars, stripes.

    ``p['bg']`` (b, 3), ``p['bg_grad']`` (b, 2), ``p['blobs']`` (b, K, 9) holding
    centre u, centre v, half-width, half-height, rectangle flag, opacity and RGB.
    """
    img = p["bg"][:, None, None, :] * (1 + p["bg_grad"][:, 0, None, None, None] * gx[..., None]
                                       + p["bg_grad"][:, 1, None, None, None] * gy[..., None])
    px = 2.0 / gx.shape[2]
    for k in range(p["blobs"].shape[1]):
        cu, cv, a, b, rect, opacity = (p["blobs"][:, k, j, None, None] for j in range(6))
        du, dv = np.abs(gx - cu) / a, np.abs(gy - cv) / b
        norm = np.where(rect > 0.5, np.maximum(du, dv), np.hypot(du, dv))
        paint(img, cover((norm - 1) * np.minimum(a, b), px) * opacity, p["blobs"][:, k, 6:9])
    phase = gx * p["stripe"][:, 0, None, None] + gy * p["stripe"][:, 1, None, None]
    img *= (1 + p["stripe"][:, 2, None, None] * np.sin(phase))[..., None]
    return img


def face(img: np.ndarray, u: np.ndarray, v: np.ndarray, px: np.ndarray, p: Params) -> None:
    """Draw head, hair and facial features into ``img`` (b, H, W, 3) in place.

    ``p`` holds identity and expression parameters, each (b, 1, 1) (colours (b, 3)).
    Feature positions are shifted by ``p['yaw']`` relative to the head outline to
    suggest a turned head.
    """
    a, b = p["face_w"], p["face_h"]
    skin = p["skin"]
    # Body first: shoulders and neck sit behind the head.
    paint(img, cover(ellipse(u, v, 0, 1.55, 1.15, 0.62), px), p["shirt"])
    paint(img, cover(np.maximum(np.abs(u) - 0.26 * a / 0.6, 0.55 - v), px), skin * 0.8)
    hair_d = ellipse(u, v, 0, -0.08 + 0.25 * p["hair_len"], a + 0.08, b * 0.95 + 0.3 * p["hair_len"])
    paint(img, cover(hair_d, px) * p["has_hair"], p["hair"])
    # Mirror symmetry: ears, eyes, brows, nostrils and folds are drawn once in |u|.
    paint(img, cover(ellipse(np.abs(u), v, a * 0.98, -0.02, 0.08, 0.14), px), skin * 0.88)
    # Head: an ellipse whose lower half narrows towards the chin by p['chin'].
    narrow = 1 - p["chin"] * np.clip(v / b, 0, 1) ** 2
    head = cover((np.hypot(u / (a * narrow), v / b) - 1) * np.minimum(a, b), px)
    roundness = 1 - 0.22 * ((u / a) ** 2 + (v / b) ** 2)  # rounded-surface shading
    paint(img, head, skin[:, None, None, :] * roundness[..., None])
    # Fringe: hair over the forehead above a curved hairline.
    hairline = -b * p["hairline"] + 0.25 * (u / a) ** 2 + p["parting"] * u
    fringe = np.minimum(cover(hair_d, px), cover(v - hairline, px)) * p["has_hair"]
    paint(img, fringe * head, p["hair"])

    uf = u - p["yaw"]
    au, side = np.abs(uf), np.sign(uf)
    ex, ey = p["eye_x"], p["eye_y"]
    dark = np.zeros_like(skin)
    forehead = np.minimum(arc(uf, v, 0, ey - 0.24 - p["brow_raise"], 0.2, 0.015, 0, 0.014),
                          arc(uf, v, 0, ey - 0.31 - p["brow_raise"], 0.17, 0.015, 0, 0.014))
    shade(img, cover(forehead, px) * p["forehead"] * (1 - fringe), 0.35)
    # Brows: tilt > 0 lowers the inner end (anger); tilt < 0 raises it (sadness, fear).
    bu = ex + p["brow_gap"]
    brow = arc(au, v, bu, ey - p["brow_dist"] - p["brow_raise"], p["brow_len"], p["brow_arch"],
               -p["brow_tilt"], p["brow_w"] * (1.1 - 0.5 * ((au - bu) / p["brow_len"]) ** 2))
    paint(img, cover(brow, px) * 0.92, p["hair"] * 0.6)
    shade(img, cover(segment(au, v, 0.045, ey - 0.13, 0.035, ey - 0.03, 0.014), px) * p["frown"], 0.45)
    # Eyes: almond between an upper and a lower lid curve.
    x = (au - ex) / p["eye_w"]
    f = np.clip(1 - x * x, 0, None)
    v_up = ey - p["eye_h"] * p["eye_up"] * f ** 0.6 + p["droop"] * x * 0.03
    v_lo = ey + p["eye_h"] * 0.75 * p["eye_lo"] * f ** 0.8
    eye = cover(np.maximum(np.maximum(v_up - v, v - v_lo), (np.abs(x) - 1) * p["eye_w"]), px)
    paint(img, eye, np.full_like(skin, 0.93))
    iris_u = ex + p["gaze"] * side  # both eyes look the same way
    paint(img, cover(ellipse(au, v, iris_u, ey, 0.045, 0.045), px) * eye, p["iris"])
    paint(img, cover(ellipse(au, v, iris_u, ey, 0.02, 0.02), px) * eye, dark)
    lid = np.maximum(np.abs(v - v_up) - 0.012, (np.abs(x) - 1.05) * p["eye_w"])
    shade(img, cover(lid, px), 0.7)
    # A crease under the eye when the cheek pushes the lower lid up (smile, disgust).
    crease = arc(au, v, ex, ey + p["eye_h"] * 0.75 * p["eye_lo"] + 0.035, p["eye_w"] * 0.9,
                 -0.02, 0, 0.012)
    shade(img, cover(crease, px) * np.clip(1.2 - p["eye_lo"], 0, 1), 0.3)
    glasses = np.minimum(np.abs(ellipse(au, v, ex, ey, 0.16, 0.11)) - 0.008,
                         arc(uf, v, 0, ey - 0.02, ex - 0.16, 0.02, 0, 0.016))
    paint(img, cover(glasses, px) * p["glasses"], dark + 0.15)
    # Nostrils flare and rise with disgust and anger; folds run from nose to mouth.
    nostril = ellipse(au, v, 0.045 + 0.02 * p["flare"], p["nose_y"] - 0.012 * p["flare"],
                      0.024 + 0.012 * p["flare"], 0.013)
    paint(img, cover(nostril, px) * 0.75, skin * 0.35)
    fold = segment(au, v, 0.1, p["nose_y"] - 0.03, p["mouth_w"] + 0.05, p["mouth_y"] + 0.01, 0.016)
    shade(img, cover(fold, px) * p["fold"], 0.35)
    paint(img, cover(segment(uf, v, 0.02, ey + 0.02, 0.035, p["nose_y"] - 0.02, 0.025), px) * 0.5,
          skin * 0.7)
    wrinkle = np.minimum.reduce([arc(uf, v, 0, ey + 0.015 + 0.025 * k, 0.055, -0.01, 0, 0.011)
                                 for k in range(3)])
    shade(img, cover(wrinkle, px) * p["wrinkle"], 0.4)
    _mouth(img, uf, v, px, p)


def _mouth(img: np.ndarray, u: np.ndarray, v: np.ndarray, px: np.ndarray, p: Params) -> None:
    """Lips, opening and teeth; corners lift with ``corner`` > 0 (smile)."""
    w = p["mouth_w"]
    x = u / w
    f = np.clip(1 - x * x, 0, None)
    f_open = f ** (1 - 0.5 * p["round"])  # round -> 1: an oval opening (surprise)
    base = p["mouth_y"] - p["corner"] * x * x - p["sneer"] * np.clip(x * p["sneer_side"], 0, None)
    inner_up = base - p["open_u"] * f_open
    inner_lo = base + p["open_l"] * f_open
    outer_up = inner_up - 0.035 * p["lip"] * np.sqrt(f)
    outer_lo = inner_lo + 0.045 * p["lip"] * np.sqrt(f)
    inside_x = (np.abs(x) - 1) * w
    lips = cover(np.maximum(np.maximum(outer_up - v, v - outer_lo), inside_x), px)
    paint(img, lips, p["lip_col"])
    cavity = cover(np.maximum(np.maximum(inner_up - v, v - inner_lo), inside_x), px)
    paint(img, cavity, np.full_like(p["skin"], 0.12))
    teeth = np.minimum(cavity, cover(v - (inner_up + 0.03), px)) * p["teeth"]
    paint(img, teeth, np.full_like(p["skin"], 0.88))
    seam = np.maximum(np.abs(v - base) - 0.008, inside_x)
    shade(img, cover(seam, px), 0.6)
