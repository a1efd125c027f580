"""The exercises (``python -m bpnet.exercises``): starter files, reference solutions, grader.

The reference solutions live in ``tests/exercise_solutions/`` (not in the package). For
every exercise this runs the grader on the starter file (it must not pass), on the
solution (every case must pass), and on the typical wrong answers students write, each
of which must fail the case built to catch it, with a message and a hint.
"""
import re
import textwrap
from pathlib import Path

import pytest

from bpnet.exercises import EXERCISES, find_exercise, grade
from bpnet.exercises.cli import main

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
KEYS = [ex.key for ex in EXERCISES]

# key -> (what the student did wrong, code appended to the solution, the case that catches it)
WRONG = {
    "neuron": [
        ("forgot the penalty path of w1", """
            _right = neuron_backward
            def neuron_backward(x1, x2, w1, w2, b, t, lam=0.1):
                g = _right(x1, x2, w1, w2, b, t, lam)
                g["w1"] = x1 * g["n1"]
                return g
         """, "w1 is used twice"),
        ("tanh' from the input", """
            _right = neuron_backward
            def neuron_backward(x1, x2, w1, w2, b, t, lam=0.1):
                g = _right(x1, x2, w1, w2, b, t, lam)
                s = neuron_forward(x1, x2, w1, w2, b, t, lam)["s"]
                g["s"] = (1 - s ** 2) * g["h"]
                return g
         """, "a saturated neuron"),
    ],
    "tanh": [
        ("forgot the upstream gradient", """
            def tanh_backward(a, grad_a):
                return 1 - a * a
         """, "random upstream gradient"),
        ("(1 - a)**2", """
            def tanh_backward(a, grad_a):
                return grad_a * (1 - a) ** 2
         """, "all-ones upstream gradient"),
        ("promoted float32 to float64", """
            def tanh_backward(a, grad_a):
                return grad_a * (1 - a * a).astype(np.float64)
         """, "float32 in, float32 out"),
    ],
    "softmax": [
        ("forgot the mean", """
            _right = softmax_cross_entropy_backward
            def softmax_cross_entropy_backward(z, y):
                return _right(z, y) * len(y)
         """, "a batch of 6 samples"),
        ("no max subtracted", """
            def softmax_cross_entropy_backward(z, y):
                e = np.exp(z)
                p = e / e.sum(axis=1, keepdims=True)
                p[np.arange(len(y)), y] -= 1
                return p / len(y)
         """, "large logits"),
    ],
    "masked": [
        ("forgot the mask", """
            def backward(self, upstream):
                dz = upstream * self.a * (1 - self.a)
                self.grads = {"W": self.x.T @ dz, "b": dz.sum(axis=0)}
                return dz @ self.params["W"].T
            MaskedLayer.backward = backward
         """, "the pruned unit gets exactly zero gradient"),
    ],
    "bug": [
        ("'fixed' the output layer", """
            _right = TwoLayerNet.loss_and_grads
            def loss_and_grads(self, X, T):
                loss, grads = _right(self, X, T)
                grads["W2"] = 2 * grads["W2"]
                return loss, grads
            TwoLayerNet.loss_and_grads = loss_and_grads
         """, "the output layer"),
    ],
    "batchnorm": [
        ("statistics as constants", """
            def batchnorm_backward(x, gamma, beta, grad_out, eps=EPS):
                inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
                xhat = (x - x.mean(axis=0)) * inv_std
                return gamma * inv_std * grad_out, (grad_out * xhat).sum(0), grad_out.sum(0)
         """, "all-ones upstream gradient: dx is 0"),
        ("dbeta averaged", """
            _right = batchnorm_backward
            def batchnorm_backward(x, gamma, beta, grad_out, eps=EPS):
                dx, dgamma, dbeta = _right(x, gamma, beta, grad_out, eps)
                return dx, dgamma, dbeta / len(x)
         """, "dbeta and dgamma"),
        ("grad_out missing from the last term (hidden by all-ones)", """
            def batchnorm_backward(x, gamma, beta, grad_out, eps=EPS):
                inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
                xhat = (x - x.mean(axis=0)) * inv_std
                g = grad_out
                dx = gamma * inv_std * (g - g.mean(axis=0) - xhat * xhat.mean(axis=0))
                return dx, (g * xhat).sum(0), g.sum(0)
         """, "dx, random upstream gradient"),
    ],
    "adam": [
        ("no bias correction", """
            def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                m = betas[0] * m + (1 - betas[0]) * g
                v = betas[1] * v + (1 - betas[1]) * g * g
                return p - lr * m / (np.sqrt(v) + eps), m, v
         """, "the first step"),
        ("eps inside the square root", """
            def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                b1, b2 = betas
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
                return p - lr * m_hat / np.sqrt(v_hat + eps), m, v
         """, "tiny gradients"),
    ],
    "angle": [
        ("not centred", """
            _right = unit_angle
            def unit_angle(h_i, h_j, center=0.5):
                return _right(h_i, h_j, center=0.0)
         """, "two random units"),
        ("no clip", """
            def unit_angle(h_i, h_j, center=0.5):
                u, v = h_i - center, h_j - center
                return np.degrees(np.arccos(u @ v / (np.linalg.norm(u) * np.linalg.norm(v))))
         """, "never nan"),
        ("strict thresholds", """
            def pair_decision(angle):
                return "similar" if angle < 15 else "complementary" if angle > 165 else "distinct"
         """, "at and around the thresholds"),
    ],
    "merge": [
        ("merged the incoming weights", """
            def remove_unit(W1, b1, W2, b2, H, j, i=None):
                W1, b1, W2 = W1.copy(), b1.copy(), W2.copy()
                if i is not None:
                    W1[:, i] = (W1[:, i] + W1[:, j]) / 2
                    b1[i] = (b1[i] + b1[j]) / 2
                    W2[i] += W2[j]
                keep = np.arange(W1.shape[1]) != j
                return W1[:, keep], b1[keep], W2[keep], b2
         """, "a complement"),
        ("changed its arguments in place", """
            _right = remove_unit
            def remove_unit(W1, b1, W2, b2, H, j, i=None):
                out = _right(W1, b1, W2, b2, H, j, i)
                W2[j] = 0
                return out
         """, "a duplicate"),
    ],
}


def _with(key: str, code: str, tmp_path: Path) -> Path:
    ex = find_exercise(key)
    path = tmp_path / ex.filename
    path.write_text((SOLUTIONS / ex.filename).read_text() + "\n" + textwrap.dedent(code))
    return path


def test_at_least_eight_exercises_each_with_a_stub_and_a_solution():
    assert len(EXERCISES) >= 8
    assert [ex.number for ex in EXERCISES] == list(range(1, len(EXERCISES) + 1))
    for ex in EXERCISES:
        assert ex.stub.is_file() and (SOLUTIONS / ex.filename).is_file(), ex.filename
    assert sorted(WRONG) == sorted(KEYS)  # every exercise is tried with a wrong answer


@pytest.mark.parametrize("key", KEYS)
def test_stub_states_objective_prerequisites_and_time(key):
    ex = find_exercise(key)
    text = ex.stub.read_text()
    for field in ("Objective:", "Prerequisites:", f"Time: {ex.minutes} minutes."):
        assert field in text, (ex.filename, field)
    assert f"check {ex.number} {ex.filename}" in text  # the stub says how to grade it


@pytest.mark.parametrize("key", KEYS)
def test_the_solution_passes_every_case(key):
    ex = find_exercise(key)
    result = grade(ex, SOLUTIONS / ex.filename)
    assert not result.load_error
    assert result.score == result.total == len(ex.cases), result.report()


@pytest.mark.parametrize("key", KEYS)
def test_the_starter_file_does_not_pass(key):
    ex = find_exercise(key)
    result = grade(ex, ex.stub)
    assert not result.load_error, result.load_error  # it runs, it just is not solved
    assert result.score < result.total


@pytest.mark.parametrize("key,mistake,code,case",
                         [(k, m, c, case) for k, tries in WRONG.items() for m, c, case in tries],
                         ids=lambda v: v if len(str(v)) < 40 and "\n" not in str(v) else "")
def test_a_typical_wrong_answer_fails_its_case_with_a_message(key, mistake, code, case,
                                                              tmp_path):
    result = grade(find_exercise(key), _with(key, code, tmp_path))
    failed = {r.name: r for r in result.results if not r.passed}
    catching = [name for name in failed if case in name]
    assert catching, f"{mistake}: expected the case '{case}' to fail:\n{result.report()}"
    r = failed[catching[0]]
    assert r.detail and r.hint


def test_an_all_ones_upstream_gradient_hides_a_missing_upstream_factor(tmp_path):
    """Why the checks use random upstream gradients: with ones, forgetting it goes unseen."""
    code = WRONG["tanh"][0][1]
    result = {r.name: r.passed for r in grade(find_exercise("tanh"), _with("tanh", code, tmp_path))
              .results}
    assert result["all-ones upstream gradient, shape (4, 3)"]
    assert not result["random upstream gradient, shape (4, 3)"]


def test_the_bug_exercise_points_at_the_hidden_layer():
    result = grade(find_exercise("bug"), find_exercise("bug").stub)
    passed = {r.name.split(":")[0]: r.passed for r in result.results}
    assert passed == {"the output layer": True, "the hidden layer": False,
                      "a batch of one pattern": False}


def test_a_broken_file_scores_zero_with_the_reason(tmp_path):
    path = tmp_path / "ex02_tanh.py"
    path.write_text("def tanh_backward(a, grad_a)\n    return a\n")
    result = grade(find_exercise(2), path)
    assert result.score == 0 and "SyntaxError" in result.load_error
    assert "your file did not run" in result.report()


# --- the command line ------------------------------------------------------------------------
def test_list_names_every_exercise_with_its_time(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for ex in EXERCISES:
        assert f"{ex.number}. {ex.title} ({ex.minutes} min)" in out
    assert f"total: {sum(ex.minutes for ex in EXERCISES)} minutes" in out


def test_start_writes_the_stubs_and_never_overwrites_without_force(tmp_path, capsys):
    lab = tmp_path / "lab"
    assert main(["start", str(lab)]) == 0
    assert sorted(p.name for p in lab.iterdir()) == sorted(ex.filename for ex in EXERCISES)
    (lab / "ex02_tanh.py").write_text("# my work\n")
    capsys.readouterr()
    assert main(["start", str(lab)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet.exercises: error: ") and err.count("\n") == 1
    assert (lab / "ex02_tanh.py").read_text() == "# my work\n"
    assert main(["start", str(lab), "--force"]) == 0
    assert "NotImplementedError" in (lab / "ex02_tanh.py").read_text()


def test_check_prints_a_score_and_exits_0_only_when_all_pass(tmp_path, capsys, monkeypatch):
    assert main(["check", "2", str(SOLUTIONS / "ex02_tanh.py")]) == 0
    assert "4/4 checks passed" in capsys.readouterr().out
    assert main(["start", str(tmp_path)]) == 0
    monkeypatch.chdir(tmp_path)  # default FILE: the starter file's name here
    capsys.readouterr()
    assert main(["check", "tanh"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"ex02_tanh\.py: 0/4 checks passed", out)
    assert "FAIL" in out and "hint:" in out and "NotImplementedError" in out
    assert main(["check", "all"]) == 1
    assert f"in {len(EXERCISES)} exercises" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["check", "42", "x.py"], "no exercise '42'"),
    (["check", "2", "no_such_file.py"], "no file no_such_file.py"),
    (["check", "all", "no_such_folder"], "is not a folder"),
    (["grade", "2"], "invalid choice: 'grade'"),
    (["check"], "the following arguments are required: exercise"),
])
def test_mistakes_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own checks end in SystemExit
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert err == f"bpnet.exercises: error: {err.split('error: ', 1)[1]}"
    assert message in err and err.count("\n") == 1


def test_solutions_are_not_shipped_in_the_package():
    package = Path(find_exercise(1).stub).parents[1]
    shipped = {path.read_text() for path in package.rglob("*.py")}
    assert not shipped & {path.read_text() for path in SOLUTIONS.glob("*.py")}
    for ex in EXERCISES:
        if ex.key != "bug":  # the bug exercise ships working code with one wrong line
            assert "raise NotImplementedError" in ex.stub.read_text(), ex.filename


def test_the_sample_report_on_the_exercises_page_is_what_check_prints(tmp_path):
    page = (Path(__file__).resolve().parents[1] / "docs" / "exercises.rst").read_text()
    sample = page.split("    Exercise 2 (tanh", 1)[1].split("      ...", 1)[0]
    sample_lines = [line.strip() for line in ("Exercise 2 (tanh" + sample).splitlines() if line]
    report = grade(find_exercise("tanh"), _with("tanh", WRONG["tanh"][0][1], tmp_path)).report()
    report_lines = [line.strip() for line in report.splitlines()]
    assert sample_lines == report_lines[:len(sample_lines)]


def test_the_starter_files_are_package_data():
    """``start`` copies them from the installed package: setup.cfg must ship them."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    assert "stubs/*.py" in cfg["options.package_data"]["bpnet.exercises"].split()
