"""The starter files and the grader's oracles: what a starter file gives, the grader owns.

Each starter file hands out working code (a forward pass, a loss) beside the function the
student writes. The grader takes that given code from the shipped starter file, never
from the student's file, so changing it cannot make a wrong answer pass. And the starter
file itself, completed with nothing but the reference solution's functions, gets full
marks: the stubs run with their reference solutions.
"""
import ast
import textwrap
from pathlib import Path

import pytest

from bpnet.exercises import EXERCISES, find_exercise, grade

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
KEYS = [ex.key for ex in EXERCISES]


def _definitions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Every function and method of a file: ``name`` or ``Class.name``."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            found.update({f"{node.name}.{sub.name}": sub for sub in node.body
                          if isinstance(sub, ast.FunctionDef)})
    return found


def _raises_not_implemented(node: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Raise) and isinstance(n.exc, ast.Name)
               and n.exc.id == "NotImplementedError" for n in ast.walk(node))


@pytest.mark.parametrize("key", KEYS)
def test_the_starter_file_completed_with_the_reference_solution_gets_full_marks(key, tmp_path):
    ex = find_exercise(key)
    stub_text, solution_text = ex.stub.read_text(), (SOLUTIONS / ex.filename).read_text()
    stub_tree, solution_tree = ast.parse(stub_text), ast.parse(solution_text)
    stub, solution = _definitions(stub_tree), _definitions(solution_tree)
    assert stub.keys() == solution.keys(), ex.filename
    # the solution is the starter file with the student's functions written, nothing else
    others = [ast.dump(n) for n in stub_tree.body if not isinstance(n, ast.FunctionDef)
              and not isinstance(n, ast.ClassDef)]
    assert others == [ast.dump(n) for n in solution_tree.body
                      if not isinstance(n, (ast.FunctionDef, ast.ClassDef))], ex.filename
    written = [name for name in stub if ast.dump(stub[name]) != ast.dump(solution[name])]
    to_write = [name for name in stub if _raises_not_implemented(stub[name])]
    if to_write:
        assert written == to_write, ex.filename
    else:  # find the bug: one function to mend
        assert len(written) == 1, ex.filename

    completed = [stub_text, "\n# --- the reference solution's functions ---"]
    for name in written:
        source = textwrap.dedent(ast.get_source_segment(solution_text, solution[name]))
        completed.append(source)
        if "." in name:
            owner, method = name.split(".")
            completed.append(f"{owner}.{method} = {method}")
    path = tmp_path / ex.filename
    path.write_text("\n\n".join(completed) + "\n")
    result = grade(ex, path)
    assert not result.load_error, result.load_error
    assert result.score == result.total, result.report()
    assert grade(ex, ex.stub).score < result.total  # and the bare starter file does not


# key -> (what the student changed, code appended to the starter file, the case that fails)
CHANGED_GIVEN_CODE = {
    "softmax": ("a quadratic loss in place of cross-entropy, with its gradient", """
        def softmax_cross_entropy(z, y):
            return 0.5 * np.sum(z * z) / len(y)
        def softmax_cross_entropy_backward(z, y):
            return z / len(y)
     """, "one sample"),
    "masked": ("a linear layer in place of the sigmoid, with its backward", """
        def forward(self, x):
            self.x = x
            self.a = x @ self.params["W"] + self.params["b"]
            return self.a * self.mask
        def backward(self, upstream):
            dz = upstream * self.mask
            self.grads = {"W": self.x.T @ dz, "b": dz.sum(axis=0)}
            return dz @ self.params["W"].T
        MaskedLayer.forward, MaskedLayer.backward = forward, backward
     """, "no unit pruned"),
    "batchnorm": ("no normalisation in the forward pass, with its backward", """
        def batchnorm_forward(x, gamma, beta, eps=EPS):
            return gamma * x + beta
        def batchnorm_backward(x, gamma, beta, grad_out, eps=EPS):
            return gamma * grad_out, (grad_out * x).sum(axis=0), grad_out.sum(axis=0)
     """, "dbeta and dgamma"),
    "merge": ("a forward pass that ignores the hidden layer, and plain deletion", """
        def forward(X, W1, b1, W2, b2):
            return np.zeros((len(X), len(b2))) + b2, 1 / (1 + np.exp(-(X @ W1 + b1)))
        def remove_unit(W1, b1, W2, b2, H, j, i=None):
            keep = np.arange(W1.shape[1]) != j
            return W1[:, keep], b1[keep], W2[keep], b2
     """, "a duplicate"),
}


@pytest.mark.parametrize("key", sorted(CHANGED_GIVEN_CODE))
def test_changing_the_given_code_does_not_make_a_wrong_answer_pass(key, tmp_path):
    """Graded against its own changed forward pass, each of these files scored full marks."""
    ex = find_exercise(key)
    what, code, case = CHANGED_GIVEN_CODE[key]
    path = tmp_path / ex.filename
    path.write_text(ex.stub.read_text() + "\n" + textwrap.dedent(code))
    result = grade(ex, path)
    assert not result.load_error, result.load_error
    failed = [r for r in result.results if not r.passed and case in r.name]
    assert failed, f"{what}: expected the case '{case}' to fail:\n{result.report()}"
    assert "expected" in failed[0].detail and failed[0].hint
