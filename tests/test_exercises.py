"""The exercises in docs/exercises.rst: their solutions, and proof that each check can fail.

Every exercise has a task block (the code around the piece to write) and a check block in
the docs. For each one this runs the check against the solution kept here (it must pass),
against the unsolved task (it must fail) and against a typical wrong answer (it must fail
with an AssertionError, the message a student sees).
"""
import re
import textwrap
from pathlib import Path

import pytest

EXERCISES = Path(__file__).resolve().parents[1] / "docs" / "exercises.rst"
KEYS = ("tanh", "softmax", "masked", "adam", "bug")

SOLUTIONS = {
    "tanh": """
        def tanh_backward(a, grad_a):
            return grad_a * (1 - a * a)
    """,
    "softmax": """
        def softmax_cross_entropy_backward(z, y):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1  # softmax minus the one-hot target ...
            return p / len(y)              # ... of the mean over the batch
    """,
    "masked": """
        def backward(self, upstream):
            dz = upstream * self.mask * self.a * (1 - self.a)
            self.grads = {"W": self.x.T @ dz, "b": dz.sum(axis=0)}
            return dz @ self.params["W"].T

        MaskedLayer.backward = backward
    """,
    "adam": """
        def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            b1, b2 = betas
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    """,
    "bug": """
        def loss_and_grads(self, X, T):
            p = self.params
            a = np.tanh(X @ p["W1"] + p["b1"])
            out = a @ p["W2"] + p["b2"]
            loss = 0.5 * np.sum((out - T) ** 2) / len(X)
            d_out = (out - T) / len(X)
            d_a = d_out @ p["W2"].T
            d_z = d_a * (1 - a ** 2)  # the fix: tanh' = 1 - a^2, not (1 - a)^2
            grads = {"W1": X.T @ d_z, "b1": d_z.sum(axis=0),
                     "W2": a.T @ d_out, "b2": d_out.sum(axis=0)}
            return loss, grads

        TwoLayerNet.loss_and_grads = loss_and_grads
    """,
}

WRONG = {  # the mistakes students make
    "tanh": """
        def tanh_backward(a, grad_a):
            return 1 - a * a  # forgot the upstream gradient
    """,
    "softmax": """
        def softmax_cross_entropy_backward(z, y):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1
            return p  # forgot the mean
    """,
    "masked": """
        def backward(self, upstream):
            dz = upstream * self.a * (1 - self.a)  # forgot the mask
            self.grads = {"W": self.x.T @ dz, "b": dz.sum(axis=0)}
            return dz @ self.params["W"].T

        MaskedLayer.backward = backward
    """,
    "adam": """
        def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            b1, b2 = betas
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            return p - lr * m_hat / np.sqrt(v_hat + eps), m, v  # eps inside the root
    """,
    "bug": """
        _buggy = TwoLayerNet.loss_and_grads

        def loss_and_grads(self, X, T):  # "fixes" the wrong line
            loss, grads = _buggy(self, X, T)
            grads["W2"] = 2 * grads["W2"]
            return loss, grads

        TwoLayerNet.loss_and_grads = loss_and_grads
    """,
}


def blocks() -> dict[str, str]:
    """The named python code blocks of the exercises page, dedented."""
    found = re.findall(r"\.\. code-block:: python\n   :name: (\S+)\n\n((?:(?:   .*)?\n)+)",
                       EXERCISES.read_text())
    return {name: textwrap.dedent(body) for name, body in found}


def run(key: str, answer: str | None) -> dict:
    ns: dict = {}
    code = blocks()
    exec(compile(code[f"exercise-{key}-task"], f"<{key} task>", "exec"), ns)
    if answer is not None:
        exec(compile(textwrap.dedent(answer), f"<{key} answer>", "exec"), ns)
    exec(compile(code[f"exercise-{key}-check"], f"<{key} check>", "exec"), ns)
    return ns


def test_every_exercise_has_a_task_and_a_check():
    names = set(blocks())
    assert names == {f"exercise-{k}-{part}" for k in KEYS for part in ("task", "check")}


@pytest.mark.parametrize("key", KEYS)
def test_the_solution_passes_the_check(key, capsys):
    run(key, SOLUTIONS[key])
    assert ": correct" in capsys.readouterr().out


@pytest.mark.parametrize("key", KEYS)
def test_the_unsolved_task_fails_the_check(key):
    with pytest.raises((NotImplementedError, AssertionError)):
        run(key, None)


@pytest.mark.parametrize("key", KEYS)
def test_a_typical_wrong_answer_fails_with_a_message(key):
    with pytest.raises(AssertionError) as failure:
        run(key, WRONG[key])
    assert str(failure.value)  # the student is told what is wrong


def test_the_bug_report_points_at_the_first_layer():
    with pytest.raises(AssertionError) as failure:
        run("bug", None)
    failed = {line.split()[0] for line in str(failure.value).splitlines() if "FAIL" in line}
    assert failed == {"W1", "b1"}  # W2 and b2 are right: the bug is below the output layer
