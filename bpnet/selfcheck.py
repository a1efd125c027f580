"""``bpnet check``: verify the installed package's backprop and optimisers.

For every hidden activation x (output, loss) combination, unstacked and as a
stack of models with per-model sample masks, it runs the finite-difference
gradient check and, when PyTorch is installed, compares the forward pass and
every gradient with :mod:`bpnet.torch_reference`. It then runs 200 steps of
each optimiser beside ``torch.optim`` and compares the parameter trajectories.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from .activations import HIDDEN_ACTIVATIONS
from .gradcheck import gradcheck
from .network import BPNetwork
from .optim import make_optimizer

#: every (output activation, loss) pair the network accepts
OUTPUT_LOSS_PAIRS = (("sigmoid", "mse"), ("softmax", "mse"), ("identity", "mse"),
                     ("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"))

#: the optimiser settings compared with torch.optim
OPTIMIZER_CASES = (
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
)

TOL_GRADCHECK, TOL_FORWARD, TOL_GRAD, TOL_TRAJECTORY = 1e-6, 1e-12, 1e-10, 1e-9


@dataclass
class CheckRow:
    """One line of the report: a name and its worst errors (None when not run)."""

    name: str
    errors: dict

    @property
    def passed(self) -> bool:
        limits = {"gradcheck": TOL_GRADCHECK, "torch forward": TOL_FORWARD,
                  "torch grads": TOL_GRAD, "trajectory": TOL_TRAJECTORY}
        return all(v is None or v < limits[k] for k, v in self.errors.items())


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _problem(seed: int, n: int = 12, n_in: int = 4, n_out: int = 3, n_models: int | None = None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = rng.integers(0, n_out, size=n)
    sw = None if n_models is None else (rng.random((n_models, n)) < 0.7).astype(float)
    if sw is not None:
        sw[:, 0] = 1.0  # no model may end up with an empty training set
    return X, y, sw


def check_network(hidden: str, output: str, loss: str, n_models: int | None, seed: int = 0,
                  use_torch: bool = True) -> CheckRow:
    """Gradient check (and torch comparison) of one configuration."""
    X, y, sw = _problem(seed, n_models=n_models)
    net = BPNetwork(X.shape[1], 5, 3, hidden=hidden, output=output, loss=loss,
                    n_models=n_models, seed=seed)
    errors = {"gradcheck": gradcheck(net, X, y, sample_weight=sw).max_error,
              "torch forward": None, "torch grads": None}
    if use_torch:
        from .torch_reference import to_torch

        ref = to_torch(net)
        errors["torch forward"] = float(np.abs(ref.predict_outputs(X) - net.forward(X)).max())
        _, g_ref = ref.loss_and_grads(X, y, sample_weight=sw)
        _, g = net.loss_and_grads(X, y, sample_weight=sw)
        errors["torch grads"] = max(float(np.abs(g[k] - g_ref[k]).max()) for k in g)
    stack = "" if n_models is None else f" x{n_models}"
    return CheckRow(f"{hidden}/{output}/{loss}{stack}", errors)


def check_optimizer(name: str, kwargs: dict, steps: int = 200, seed: int = 0) -> CheckRow:
    """Largest parameter difference to ``torch.optim`` over ``steps`` full-batch steps."""
    from .torch_reference import torch_trajectory

    X, y, _ = _problem(seed)
    net = BPNetwork(X.shape[1], 5, 3, hidden="sigmoid", output="softmax", loss="cross_entropy",
                    seed=seed)
    reference = torch_trajectory(net, X, y, name, steps, **kwargs)
    opt = make_optimizer(name, net.params, **kwargs)
    worst = 0.0
    for ref_params in reference:
        opt.step(net.loss_and_grads(X, y)[1])
        worst = max(worst, max(float(np.abs(net.params[k] - ref_params[k]).max())
                               for k in ref_params))
    label = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return CheckRow(f"{name}({label})", {"trajectory": worst})


def run_checks(use_torch: bool | None = None) -> list[CheckRow]:
    """All checks; torch comparisons run when torch is importable (or when asked)."""
    use_torch = have_torch() if use_torch is None else use_torch
    rows = [check_network(h, o, loss, k, use_torch=use_torch)
            for h in HIDDEN_ACTIVATIONS for o, loss in OUTPUT_LOSS_PAIRS for k in (None, 3)]
    if use_torch:
        rows += [check_optimizer(name, kw) for name, kw in OPTIMIZER_CASES]
    return rows


def format_report(rows: list[CheckRow]) -> str:
    """A plain-text table of worst errors with pass/fail per row."""
    cols = ["gradcheck", "torch forward", "torch grads", "trajectory"]
    width = max(len(r.name) for r in rows)
    head = f"{'check':<{width}}  " + "  ".join(f"{c:>13}" for c in cols) + "  status"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.errors.get(c)
            cells.append(f"{'-' if v is None else f'{v:.1e}':>13}")
        lines.append(f"{r.name:<{width}}  " + "  ".join(cells) + f"  {'ok' if r.passed else 'FAIL'}")
    lines.append(f"limits: gradcheck < {TOL_GRADCHECK:g}, torch forward < {TOL_FORWARD:g}, "
                 f"torch grads < {TOL_GRAD:g}, optimiser trajectory < {TOL_TRAJECTORY:g}")
    return "\n".join(lines)
