"""The student paper's published values (its Tables 1-2 and the accuracies in its text).

They were measured on SFEW; ``fer-compare`` shows them only when its data is SFEW
(:func:`resnet_fer.compare_stages.is_sfew`).
"""
from __future__ import annotations

from typing import Any

__all__ = ["PAPER"]

#: keyed by the contender each published model corresponds to
PAPER: dict[str, Any] = {
    "bp-paper": {"train_accuracy": 0.4136, "test_accuracy": 0.1162,
                 "precision": [0.03, 0.02, 0.14, 0.27, 0.08, 0.14, 0.05],
                 "recall": [0.03, 0.01, 0.16, 0.29, 0.07, 0.15, 0.06],
                 "specificity": [0.84, 0.92, 0.83, 0.86, 0.85, 0.84, 0.82]},
    "resnet18": {"train_accuracy": 0.95, "test_accuracy": 0.30,
                 "precision": [0.25, 0.36, 0.20, 0.36, 0.23, 0.36, 0.47],
                 "recall": [0.16, 0.25, 0.62, 0.33, 0.14, 0.32, 0.32],
                 "specificity": [0.99, 0.99, 0.94, 0.99, 0.98, 0.98, 0.99]},
    "class_names": ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"],
    "note": "The paper's ResNet figures are read from its text ('around 95 %', 'about 30 %')."}
