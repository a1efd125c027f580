"""The exercises, in course order: what each teaches, what it needs, how long it takes.

Lab 1 (backpropagation) is exercises 1-6, lab 2 (optimisers and pruning) 7-9; the course
page of the documentation (docs/course.rst) sets them beside the gallery examples.
"""
from __future__ import annotations

from .checks_backprop import NEURON, SOFTMAX, TANH
from .checks_layers import BATCHNORM, BUG, MASKED
from .checks_pruning import ADAM, ANGLE, MERGE
from .grading import Exercise

EXERCISES: tuple[Exercise, ...] = (
    Exercise(1, "neuron", "one neuron, node by node",
             "apply the chain rule on a scalar graph; add up the gradients of a value used twice",
             "derivatives of sums, products and tanh", 15, NEURON),
    Exercise(2, "tanh", "tanh backward from its output",
             "write an activation's backward pass from its output, times the upstream gradient",
             "exercise 1; NumPy arrays", 10, TANH),
    Exercise(3, "softmax", "softmax with cross-entropy",
             "derive the gradient of the mean cross-entropy with respect to the logits",
             "exercise 2; the softmax function", 15, SOFTMAX),
    Exercise(4, "masked", "a layer with pruned units",
             "write a layer's backward pass for weights, biases and input; stop it with a mask",
             "exercise 2; matrix shapes", 15, MASKED),
    Exercise(5, "bug", "find the bug",
             "locate a wrong line from a gradient check's per-parameter report",
             "exercises 2 and 4", 10, BUG),
    Exercise(6, "batchnorm", "batch normalisation backward",
             "backpropagate through statistics computed from the batch itself",
             "exercises 2 and 4; mean and variance", 25, BATCHNORM),
    Exercise(7, "adam", "one step of Adam",
             "implement Adam with its bias correction exactly as torch.optim.Adam",
             "gradient descent; moving averages", 20, ADAM),
    Exercise(8, "angle", "the distinctiveness angle",
             "compute Gedeon's angle between two units and decide whether one is redundant",
             "the angle between two vectors", 10, ANGLE),
    Exercise(9, "merge", "the compensating merge",
             "remove a hidden unit and keep the network's outputs unchanged",
             "exercise 8; least squares", 20, MERGE),
)


def find_exercise(name: str | int) -> Exercise:
    """The exercise with this number (``"2"``) or key (``"tanh"``).

    Raises
    ------
    KeyError
        With a message listing the valid numbers, when there is no such exercise.
    """
    name = str(name)
    for ex in EXERCISES:
        if name in (str(ex.number), ex.key, f"{ex.number:02d}"):
            return ex
    raise KeyError(f"no exercise {name!r}; choose a number from 1 to {len(EXERCISES)} "
                   f"(`list` shows them)")
