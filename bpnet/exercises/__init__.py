"""Exercises with starter files and an autograder: ``python -m bpnet.exercises``.

::

    python -m bpnet.exercises list            # the exercises, with objective and time
    python -m bpnet.exercises start lab/      # one starter file per exercise in lab/
    python -m bpnet.exercises check 2 lab/ex02_tanh.py   # grade one file
    python -m bpnet.exercises check all lab/  # grade every starter file in lab/

A check runs hidden cases against the student's file: the right answer on random inputs,
the typical wrong answers (each case is built so that one of them fails it), and edge
cases (float32 input, other shapes, an all-ones upstream gradient, which hides some
bugs). It prints a score per exercise and, for each failing case, what was expected and
a hint. The oracles are finite differences, :class:`bpnet.Adam`,
:func:`bpnet.pruning.unit_statistics`, :class:`bpnet.teaching.Value` and unchanged network
outputs; the reference solutions are not part of the package (they live in the source
tree, beside the tests that run every starter file with them).

The network core never imports this package (an import-linter contract in setup.cfg).
"""
from .catalog import EXERCISES, Exercise, find_exercise
from .grading import Case, CaseResult, Failure, Grade, grade

__all__ = ["EXERCISES", "Exercise", "Case", "Failure", "find_exercise", "grade", "Grade",
           "CaseResult"]
