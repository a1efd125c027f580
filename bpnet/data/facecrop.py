"""Face crops with the Haar cascades that ship inside OpenCV's wheel: square boxes, or crops
aligned on the eyes. The one face-crop module of both branches.

* :class:`FaceCropper` (``face_crop="haar"``): a square around the largest frontal face (a
  centre crop when none is found), as it comes from the detector: no rotation, no fixed scale.
* :class:`FaceAligner` (``face_crop="align"``): finds more faces (three cascades) and the two
  eyes inside them, then rotates the eyes level and scales them to a fixed distance at fixed
  positions (a similarity transform, :func:`similarity`), as the crops behind the paper's
  feature sheet.
* :func:`make_cropper` turns a ``face_crop`` value into one of them (or None).

A crop is *aligned* when the two eyes are found: the image is rotated so that they are level,
scaled so that they lie ``eye_distance * size`` pixels apart, and shifted so that they sit at
``((1 -+ eye_distance) / 2 * size, eye_y * size)``, applied with ``cv2.warpAffine``. Every
face then has its eyes, nose and mouth at about the same pixels, which is what a small network
trained on 540 images needs. The aligner's steps, each with a fallback:

1. **Face**: the frontal cascade; if it finds nothing, the ``alt2`` frontal cascade with a
   looser vote; then the profile cascade on the image and on its mirror (it only knows one
   side). The largest box wins.
2. **Eyes**: the eye cascade (then the eyeglasses one) inside the upper part of the face box,
   enlarged to a fixed width; the best left/right pair that is plausible (distance, angle,
   sizes) gives the two eye centres.
3. **Crop**: with eyes, the similarity transform above; with a face box but no eyes, the same
   canonical geometry with the eyes placed where they sit in an average frontal box
   (:data:`BOX_EYES`), without rotation; with no face, the centre square.

OpenCV is imported only when a crop is asked for (``opencv-python-headless<5``, part of the
``torch`` extra); the cascade XML files ship inside the wheel (``cv2.data.haarcascades``), so
nothing is downloaded at run time. Rates on SFEW are in ``docs/resnet.rst``.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["BOX_EYES", "EYES", "FACE_BOX", "FACE_CROPS", "FaceAligner", "FaceCropper",
           "FaceDetection", "NO_FACE", "center_box", "import_cv2", "make_cropper", "similarity",
           "square_box"]

CASCADE = "haarcascade_frontalface_default.xml"


def import_cv2():
    """OpenCV, or an ImportError that says how to install it."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("face cropping needs OpenCV: pip install 'opencv-python-headless>=4.6,<5' "
                          "(or the project's 'torch' extra)") from exc
    return cv2


def center_box(height: int, width: int) -> tuple[int, int, int]:
    """The largest centred square: (top, left, side)."""
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side


def square_box(face: tuple[int, int, int, int], height: int, width: int,
               margin: float) -> tuple[int, int, int]:
    """A square around a detected face box, grown by ``margin`` per side, kept inside the image.

    Parameters
    ----------
    face : (x, y, w, h)
        OpenCV's detection.
    height, width : int
        Image size.
    margin : float
        Fraction of the face size added on each side (Haar boxes stop at the brows and
        the chin; expressions also show on the forehead).

    Returns
    -------
    (top, left, side)
        Shifted, not shrunk, to stay inside the image; at most ``min(height, width)``.
    """
    x, y, w, h = face
    side = min(int(round(max(w, h) * (1 + 2 * margin))), height, width)
    cy, cx = y + h / 2, x + w / 2
    top = int(np.clip(round(cy - side / 2), 0, height - side))
    left = int(np.clip(round(cx - side / 2), 0, width - side))
    return top, left, side


def _resized_square(cv2, rgb: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
    """The square ``box`` (top, left, side) of ``rgb`` resized to ``size`` x ``size``."""
    top, left, side = box
    square = np.ascontiguousarray(rgb[top:top + side, left:left + side])
    # INTER_AREA averages when shrinking (no aliasing); bilinear when enlarging.
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


class _Cascades:
    """OpenCV and its Haar cascades, loaded once per thread and name."""

    def _open_cv(self) -> None:
        self._cv2 = import_cv2()
        self._local = threading.local()  # a CascadeClassifier is not safe to share across threads

    def _cascade(self, name: str):
        cache = self._local.__dict__.setdefault("cascades", {})
        if name not in cache:
            path = self._cv2.data.haarcascades + name
            cascade = self._cv2.CascadeClassifier(path)
            if cascade.empty():
                raise RuntimeError(f"OpenCV could not load its cascade {path}")
            cache[name] = cascade
        return cache[name]


@dataclass
class FaceCropper(_Cascades):
    """Crop the largest frontal face of an RGB image, or its centre when none is found.

    Parameters
    ----------
    margin : float
        See :func:`square_box`.
    scale_factor, min_neighbors : float, int
        ``detectMultiScale`` settings.
    min_size : float
        Smallest face searched, as a fraction of the shorter image side.
    """

    margin: float = 0.2
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: float = 0.08

    def __post_init__(self) -> None:
        self._open_cv()

    def settings(self) -> dict:
        """What changes the crops (part of the data cache key)."""
        return {"cascade": CASCADE, "margin": self.margin, "scale_factor": self.scale_factor,
                "min_neighbors": self.min_neighbors, "min_size": self.min_size}

    def box(self, rgb: np.ndarray) -> tuple[tuple[int, int, int], bool]:
        """((top, left, side), face_found) for an RGB uint8 image (H, W, 3)."""
        cv2 = self._cv2
        height, width = rgb.shape[:2]
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        smallest = max(16, int(self.min_size * min(height, width)))
        faces = self._cascade(CASCADE).detectMultiScale(gray, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors,
                                                 minSize=(smallest, smallest))
        if len(faces) == 0:
            return center_box(height, width), False
        largest = max(faces, key=lambda f: int(f[2]) * int(f[3]))
        return square_box(tuple(int(v) for v in largest), height, width, self.margin), True

    def crop(self, rgb: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
        """The face (or centre) square resized to ``size`` x ``size``, and whether a face was found."""
        box, found = self.box(rgb)
        return self.cut(rgb, box, size), found

    def cut(self, rgb: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
        """The square ``box`` (top, left, side) of :meth:`box` resized to ``size`` x ``size``."""
        return _resized_square(self._cv2, rgb, box, size)


#: Outcome codes of :meth:`FaceAligner.crop`: no face (centre crop), a face box without
#: eyes (box geometry), or a face with both eyes (aligned).
NO_FACE, FACE_BOX, EYES = 0, 1, 2

#: The eye centres as fractions ``(x, y)`` of a Haar face box, the mean over the 379 SFEW
#: faces where both eyes were found (0.329 and 0.650 across, 0.385 and 0.382 down), rounded.
BOX_EYES = ((0.33, 0.38), (0.65, 0.38))

_FACE_CASCADES = (("haarcascade_frontalface_default.xml", 5), ("haarcascade_frontalface_alt2.xml", 3))
_PROFILE = "haarcascade_profileface.xml"
_EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")
_EYE_ROI_WIDTH = 160  # eyes are searched in the face enlarged (or shrunk) to this width


def similarity(left: tuple[float, float], right: tuple[float, float], size: int,
               eye_distance: float, eye_y: float) -> np.ndarray:
    """The 2x3 affine matrix that maps two eye centres to their canonical positions.

    Parameters
    ----------
    left, right : (x, y)
        Eye centres in the source image, ``left`` being the one with the smaller x.
    size : int
        Side of the output square.
    eye_distance, eye_y : float
        Canonical distance between the eyes and their height, as fractions of ``size``.

    Returns
    -------
    ndarray, shape (2, 3)
        ``dst = M @ (x, y, 1)``: rotate by minus the eye angle about the eyes' midpoint,
        scale to the canonical distance, move the midpoint to ``(size / 2, eye_y * size)``.
    """
    (lx, ly), (rx, ry) = left, right
    dx, dy = rx - lx, ry - ly
    dist = math.hypot(dx, dy)
    if dist <= 0:
        raise ValueError("the two eye centres coincide")
    s = eye_distance * size / dist
    cos, sin = dx / dist, dy / dist  # R(-angle) = [[cos, sin], [-sin, cos]]
    a = np.array([[s * cos, s * sin], [-s * sin, s * cos]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    t = np.array([size / 2, eye_y * size]) - a @ mid
    return np.hstack([a, t[:, None]])


@dataclass
class FaceDetection:
    """What :meth:`FaceAligner.detect` found in one image.

    Attributes
    ----------
    box : (x, y, w, h) or None
        The face box, None when no cascade found a face.
    eyes : ((x, y), (x, y)) or None
        Left and right eye centres in image pixels, None when no plausible pair was found.
    """

    box: tuple[int, int, int, int] | None
    eyes: tuple[tuple[float, float], tuple[float, float]] | None

    @property
    def status(self) -> int:
        """:data:`EYES`, :data:`FACE_BOX` or :data:`NO_FACE`."""
        return EYES if self.eyes is not None else FACE_BOX if self.box is not None else NO_FACE


@dataclass
class FaceAligner(_Cascades):
    """Detect the face and eyes of an RGB image and cut an eye-aligned square crop.

    Parameters
    ----------
    eye_distance : float
        Distance between the eye centres as a fraction of the crop side: smaller values keep
        more of the head (0.36 keeps brows to chin with a little forehead).
    eye_y : float
        Height of the eyes as a fraction of the crop side, from the top.
    max_angle : float
        Largest eye-line tilt (degrees) accepted as a pair of eyes.
    min_size : float
        Smallest face searched, as a fraction of the shorter image side.
    """

    eye_distance: float = 0.36
    eye_y: float = 0.40
    max_angle: float = 30.0
    min_size: float = 0.08

    def __post_init__(self) -> None:
        if not 0.05 <= self.eye_distance <= 0.8 or not 0.1 <= self.eye_y <= 0.7:
            raise ValueError(f"need 0.05 <= eye_distance <= 0.8 and 0.1 <= eye_y <= 0.7, got "
                             f"{self.eye_distance} and {self.eye_y}")
        self._open_cv()

    def settings(self) -> dict:
        """What changes the crops (part of the data cache key)."""
        return {"aligner": 1, "eye_distance": self.eye_distance, "eye_y": self.eye_y,
                "max_angle": self.max_angle, "min_size": self.min_size, "box_eyes": BOX_EYES}

    def _face(self, gray: np.ndarray) -> tuple[int, int, int, int] | None:
        height, width = gray.shape
        smallest = max(16, int(self.min_size * min(height, width)))
        kw = {"scaleFactor": 1.1, "minSize": (smallest, smallest)}
        for name, votes in _FACE_CASCADES:
            faces = self._cascade(name).detectMultiScale(gray, minNeighbors=votes, **kw)
            if len(faces):
                return tuple(int(v) for v in max(faces, key=lambda f: int(f[2]) * int(f[3])))
        found = []
        for mirrored in (False, True):  # the profile cascade only knows faces turned one way
            image = gray[:, ::-1].copy() if mirrored else gray
            for x, y, w, h in self._cascade(_PROFILE).detectMultiScale(image, minNeighbors=3, **kw):
                found.append((width - int(x) - int(w) if mirrored else int(x), int(y), int(w), int(h)))
        return max(found, key=lambda f: f[2] * f[3]) if found else None

    def _eyes(self, gray: np.ndarray, box: tuple[int, int, int, int]):
        cv2 = self._cv2
        x, y, w, h = box
        top, bottom = y + int(0.15 * h), y + int(0.62 * h)
        roi = gray[max(0, top):bottom, max(0, x):x + w]
        if roi.size == 0:
            return None
        k = _EYE_ROI_WIDTH / roi.shape[1]
        roi = cv2.resize(roi, (_EYE_ROI_WIDTH, max(1, round(roi.shape[0] * k))),
                         interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        fw = w * k  # face width in ROI pixels
        smallest = max(8, int(0.1 * fw))
        for name in _EYE_CASCADES:
            cands = self._cascade(name).detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3,
                                                        minSize=(smallest, smallest))
            pair = self._best_pair([(ex + ew / 2, ey + eh / 2, ew) for ex, ey, ew, eh in cands], fw)
            if pair is not None:
                (lx, ly), (rx, ry) = pair
                ox, oy = max(0, x), max(0, top)
                return (ox + lx / k, oy + ly / k), (ox + rx / k, oy + ry / k)
        return None

    def _best_pair(self, cands: list[tuple[float, float, float]], fw: float):
        """The most plausible (left, right) pair of eye candidates (cx, cy, size), or None."""
        best, best_score = None, math.inf
        for i, a in enumerate(cands):
            for b in cands[i + 1:]:
                left, right = (a, b) if a[0] < b[0] else (b, a)
                dx, dy = right[0] - left[0], right[1] - left[1]
                if not 0.25 * fw <= dx <= 0.7 * fw or left[0] > 0.55 * fw or right[0] < 0.45 * fw:
                    continue
                if abs(math.degrees(math.atan2(dy, dx))) > self.max_angle:
                    continue
                # Near the typical distance, level, and of similar size: the likeliest two eyes.
                score = abs(dx / fw - 0.4) + abs(dy) / fw + abs(math.log(left[2] / right[2]))
                if score < best_score:
                    best, best_score = ((left[0], left[1]), (right[0], right[1])), score
        return best

    def detect(self, rgb: np.ndarray) -> FaceDetection:
        """The face box and, where found, the two eye centres of an RGB uint8 image (H, W, 3)."""
        cv2 = self._cv2
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        box = self._face(gray)
        return FaceDetection(box, self._eyes(gray, box) if box is not None else None)

    def warp(self, rgb: np.ndarray, detection: FaceDetection, size: int) -> np.ndarray:
        """The ``size`` x ``size`` crop for a detection (aligned, box geometry or centre)."""
        cv2 = self._cv2
        if detection.box is None:
            return _resized_square(cv2, rgb, center_box(*rgb.shape[:2]), size)
        if detection.eyes is not None:
            left, right = detection.eyes
        else:
            x, y, w, h = detection.box
            left, right = ((x + fx * w, y + fy * h) for fx, fy in BOX_EYES)
        m = similarity(left, right, size, self.eye_distance, self.eye_y)
        scale = math.hypot(m[0, 0], m[0, 1])
        if scale < 0.75:
            # Shrinking a lot with a bilinear warp aliases: average down first (INTER_AREA).
            f = min(1.0, 1.5 * scale)
            rgb = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            m = m @ np.diag([1 / f, 1 / f, 1.0])
        # Replicated borders: a face near the frame edge gets smeared edge pixels, not black.
        return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def crop(self, rgb: np.ndarray, size: int) -> tuple[np.ndarray, int]:
        """The crop (uint8 ``(size, size, 3)``) and how it was made (:data:`EYES`, ...)."""
        detection = self.detect(rgb)
        return self.warp(rgb, detection, size), detection.status

#: Values of ``face_crop``: none, a square around the Haar face box, an eye-aligned crop.
FACE_CROPS = ("none", "haar", "align")


def make_cropper(face_crop: bool | str, **kwargs) -> FaceCropper | FaceAligner | None:
    """The cropper for a ``face_crop`` value (True means ``"haar"``), or None for the whole frame.

    ``kwargs`` go to :class:`~bpnet.data.facecrop.FaceAligner` (``eye_distance``, ``eye_y``)
    or :class:`~bpnet.data.facecrop.FaceCropper` (``margin``).
    """
    mode = "haar" if face_crop is True else "none" if face_crop is False else face_crop
    if mode not in FACE_CROPS:
        raise ValueError(f"face_crop must be one of {FACE_CROPS} (or a bool), got {face_crop!r}")
    if mode == "align":
        return FaceAligner(**kwargs)
    if mode == "haar":
        return FaceCropper(**kwargs)
    return None
