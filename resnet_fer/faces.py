"""Face crops with OpenCV's Haar cascades: square boxes, or crops aligned on the eyes.

* :class:`FaceCropper`: a square around the largest frontal face (a centre crop when none
  is found), as it comes from the detector: no rotation, no fixed scale.
* :class:`resnet_fer.align.FaceAligner` (in ``resnet_fer.align``): finds more faces (three cascades) and the
  two eyes inside them, then rotates the eyes level and scales them to a fixed distance at
  fixed positions (a similarity transform), as the crops behind the paper's feature sheet.

OpenCV is imported only when a face crop is asked for (``opencv-python-headless<5``, part of
the ``torch`` extra); the cascade XML files ship inside the wheel (``cv2.data.haarcascades``),
so nothing is downloaded at run time.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["FaceCropper", "center_box", "import_cv2", "square_box"]

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


@dataclass
class FaceCropper:
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
        self._cv2 = import_cv2()
        self._local = threading.local()  # a CascadeClassifier is not safe to share across threads

    def settings(self) -> dict:
        """What changes the crops (part of the data cache key)."""
        return {"cascade": CASCADE, "margin": self.margin, "scale_factor": self.scale_factor,
                "min_neighbors": self.min_neighbors, "min_size": self.min_size}

    def _cascade(self):
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            path = self._cv2.data.haarcascades + CASCADE
            cascade = self._cv2.CascadeClassifier(path)
            if cascade.empty():
                raise RuntimeError(f"OpenCV could not load its face cascade {path}")
            self._local.cascade = cascade
        return cascade

    def box(self, rgb: np.ndarray) -> tuple[tuple[int, int, int], bool]:
        """((top, left, side), face_found) for an RGB uint8 image (H, W, 3)."""
        cv2 = self._cv2
        height, width = rgb.shape[:2]
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        smallest = max(16, int(self.min_size * min(height, width)))
        faces = self._cascade().detectMultiScale(gray, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors,
                                                 minSize=(smallest, smallest))
        if len(faces) == 0:
            return center_box(height, width), False
        largest = max(faces, key=lambda f: int(f[2]) * int(f[3]))
        return square_box(tuple(int(v) for v in largest), height, width, self.margin), True

    def crop(self, rgb: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
        """The face (or centre) square resized to ``size`` x ``size``, and whether a face was found."""
        (top, left, side), found = self.box(rgb)
        square = np.ascontiguousarray(rgb[top:top + side, left:left + side])
        # INTER_AREA averages when shrinking (no aliasing); bilinear when enlarging.
        interp = self._cv2.INTER_AREA if side >= size else self._cv2.INTER_LINEAR
        return self._cv2.resize(square, (size, size), interpolation=interp), found
