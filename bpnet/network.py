r"""The BP network: one hidden layer, hand-written forward and backward passes.

Forward, for inputs ``X`` (n, n_in)::

    Z1 = X @ W1 + b1        (n, H)     hidden pre-activations
    A1 = f(Z1) * mask       (n, H)     hidden outputs (mask: live units, for pruning)
    Z2 = A1 @ W2 + b2       (n, C)     output logits
    out = g(Z2)             (n, C)

Backward (the chain rule, layer by layer, from the loss ``L``)::

    dZ2 = dL/dZ2            from the loss (fused ``p - t`` for cross-entropy) or
                            g.backward(out, dL/dout)
    dW2 = A1.T @ dZ2        db2 = sum_n dZ2
    dA1 = dZ2 @ W2.T * mask
    dZ1 = f.backward(A1, dA1)
    dW1 = X.T @ dZ1         db1 = sum_n dZ1

A *stack* of ``K`` independent networks (``n_models=K``) puts a leading ``K``
axis on every parameter; NumPy's broadcasting ``matmul`` then evaluates all of
them in one call, which is how K cross-validation folds train as one array
program. ``X`` may be shared ``(n, n_in)`` or per model ``(K, n, n_in)``. The
code below reads like the formulas above: :func:`transpose` is ``.T`` for one matrix
and for every matrix of a stack alike.

This module is the reference, written to be read and checked (finite
differences, PyTorch). Training runs :mod:`bpnet.fused`, which computes the
same numbers in fewer passes over memory and is tested against this one.
"""
from __future__ import annotations

import copy

import numpy as np

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, get_activation
from .input_checks import check_memory, check_sample_weight, check_X, check_y
from .losses import Loss, get_loss, sample_weights

INITS = ("torch", "xavier")

#: A seed, which is an int, a Generator, or None for fresh entropy.
Seed = int | np.random.Generator | None


def one_hot(y: np.ndarray, n_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot targets: ``(..., n)`` int labels -> ``(..., n, n_classes)``."""
    return np.eye(n_classes, dtype=dtype)[y]


def transpose(a: np.ndarray) -> np.ndarray:
    """The transpose of a matrix ``(m, n) -> (n, m)``, or of every matrix of a stack
    ``(K, m, n) -> (K, n, m)`` (``a.T`` would reverse all three axes)."""
    return np.swapaxes(a, -1, -2)


class BPNetwork:
    """A one-hidden-layer network trained by backpropagation (NumPy only).

    Parameters
    ----------
    n_inputs, n_hidden, n_outputs : int
        Layer sizes. ``n_outputs`` is the number of classes.
    hidden : {"sigmoid", "tanh", "relu"}
        Hidden activation (the paper uses sigmoid).
    output : {"sigmoid", "softmax", "identity"}
        Output activation (the paper uses sigmoid).
    loss : {"mse", "cross_entropy"}
        ``mse`` is ``F.mse_loss(out, one_hot(y))`` (mean over all elements);
        ``cross_entropy`` is ``F.cross_entropy(logits, y)`` with a softmax output
        and ``F.binary_cross_entropy_with_logits(logits, one_hot(y))`` with a
        sigmoid output. See :mod:`bpnet.losses`.
    class_weight : (n_outputs,) array, optional
        Per-class weights for ``cross_entropy``, with PyTorch's semantics
        (a weighted mean for softmax, per-column rescaling for sigmoid). A stack may give
        each model its own: ``(n_models, n_outputs)`` (each fold's training rows' weights).
    init : {"torch", "xavier"}
        ``"torch"`` (default) draws weights and biases from
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the distribution of
        ``torch.nn.Linear``'s default initialisation. ``"xavier"`` draws weights
        from ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio,
        2010), with zero biases.
    dtype : {np.float64, np.float32}
        float64 (default) for gradient checks, float32 for speed.
    seed : int, np.random.Generator or None
        Seed of the initialisation.
    n_models : int or None
        ``None``: one network, parameters with plain shapes. ``K``: a stack of
        K independent networks, every parameter with a leading ``K`` axis.

    Attributes
    ----------
    params : dict
        ``W1`` (n_in, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,), each with a
        leading ``K`` axis for a stack. Optimisers update these arrays in place.
    unit_mask : (H,) or (K, H) array or None
        Hidden units that are alive (1) or pruned (0); ``None`` means all alive.
        Lets each network of a stack lose different units without changing shapes.
    """

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, *,
                 hidden: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                 class_weight: np.ndarray | None = None, init: str = "torch",
                 dtype: type | np.dtype | str = np.float64, seed: Seed = 0,
                 n_models: int | None = None) -> None:
        for name, value in (("n_inputs", n_inputs), ("n_hidden", n_hidden),
                            ("n_outputs", n_outputs)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if n_models is not None and (int(n_models) != n_models or n_models < 1):
            raise ValueError(f"n_models must be None or a positive integer, got {n_models!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.hidden = get_activation(hidden, HIDDEN_ACTIVATIONS).name
        self.output = get_activation(output, OUTPUT_ACTIVATIONS).name
        self._loss = get_loss(loss, self.output)
        self.loss = loss
        self.dtype = np.dtype(dtype)
        self.n_models = None if n_models is None else int(n_models)
        self.init = init
        if class_weight is not None:
            if loss != "cross_entropy":
                raise ValueError("class_weight is only defined for loss='cross_entropy'")
            class_weight = np.asarray(class_weight, dtype=self.dtype)
            shapes = [(n_outputs,)] + ([] if n_models is None else [(int(n_models), n_outputs)])
            if class_weight.shape not in shapes or np.any(class_weight < 0):
                raise ValueError(
                    f"class_weight must be {n_outputs} non-negative numbers (or one row of them "
                    f"per model of a stack), got {class_weight!r}"
                )
        self.class_weight = class_weight
        self.unit_mask = None
        #: free-form JSON-serialisable notes saved with the model (e.g. its pruning history)
        self.info: dict = {}
        n_weights = (int(n_inputs) + 1 + int(n_outputs)) * int(n_hidden) + int(n_outputs)
        check_memory(n_weights * (n_models or 1) * self.dtype.itemsize,
                     f"a network of {n_hidden} hidden units" +
                     ("" if n_models is None else f" x {n_models} models"))
        self.params = self._init_params(int(n_inputs), int(n_hidden), int(n_outputs),
                                        np.random.default_rng(seed))

    def _init_params(self, n_in: int, n_hid: int, n_out: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
        lead = () if self.n_models is None else (self.n_models,)

        def uniform(bound, *shape):
            return rng.uniform(-bound, bound, size=lead + shape).astype(self.dtype)

        if self.init == "torch":
            # nn.Linear: kaiming_uniform(a=sqrt(5)) on the weight gives bound 1/sqrt(fan_in),
            # and the bias uses the same bound.
            return {"W1": uniform(n_in ** -0.5, n_in, n_hid), "b1": uniform(n_in ** -0.5, n_hid),
                    "W2": uniform(n_hid ** -0.5, n_hid, n_out), "b2": uniform(n_hid ** -0.5, n_out)}
        return {"W1": uniform(np.sqrt(6.0 / (n_in + n_hid)), n_in, n_hid),
                "b1": np.zeros(lead + (n_hid,), self.dtype),
                "W2": uniform(np.sqrt(6.0 / (n_hid + n_out)), n_hid, n_out),
                "b2": np.zeros(lead + (n_out,), self.dtype)}

    @property
    def loss_fn(self) -> Loss:
        """The :class:`bpnet.losses.Loss` in use (its function and how class weights enter)."""
        return self._loss

    # --- shapes --------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.params["W1"].shape[-2]

    @property
    def n_hidden(self) -> int:
        """Hidden units in the arrays (pruned units of a stack still count; see ``unit_mask``)."""
        return self.params["W1"].shape[-1]

    @property
    def n_outputs(self) -> int:
        return self.params["W2"].shape[-1]

    def n_live_units(self) -> int | np.ndarray:
        """Hidden units alive: an int, or a ``(K,)`` array for a stack."""
        if self.unit_mask is None:
            return self.n_hidden if self.n_models is None else np.full(self.n_models, self.n_hidden)
        return np.asarray(self.unit_mask != 0).sum(axis=-1)

    # --- forward ---------------------------------------------------------------
    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward pass keeping what backward needs: ``(A1, Z2, out)``."""
        p = self.params
        A1 = get_activation(self.hidden).forward(X @ p["W1"] + p["b1"][..., None, :])
        if self.unit_mask is not None:
            A1 = A1 * self.unit_mask[..., None, :]
        Z2 = A1 @ p["W2"] + p["b2"][..., None, :]
        return A1, Z2, get_activation(self.output).forward(Z2)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Network outputs after the output activation.

        Parameters
        ----------
        X : (n, n_in), or (K, n, n_in) for a stack

        Returns
        -------
        out : (n, C), or (K, n, C) for a stack
        """
        X = check_X(X, self.n_inputs, self.n_models, self.dtype)
        return self._forward(X)[2]

    def hidden_activations(self, X: np.ndarray) -> np.ndarray:
        """Hidden-layer outputs ``A1``: (n, H), or (K, n, H) for a stack (used by pruning)."""
        X = check_X(X, self.n_inputs, self.n_models, self.dtype)
        return self._forward(X)[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class index of the largest output: (n,), or (K, n) for a stack."""
        return self.forward(X).argmax(axis=-1)

    # --- loss and backward -----------------------------------------------------
    def _targets(self, X, y, sample_weight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = check_X(X, self.n_inputs, self.n_models, self.dtype)
        y = check_y(y, X.shape[-2], self.n_outputs, self.n_models)
        sw = check_sample_weight(sample_weight, X.shape[-2], self.n_models)
        stacked = self.n_models is not None
        shape = (self.n_models, X.shape[-2]) if stacked else (X.shape[-2],)
        w = sample_weights(np.broadcast_to(y, shape), sw, self.class_weight,
                           self._loss.class_weighted_mean, shape, self.dtype)
        return X, one_hot(y, self.n_outputs, self.dtype), w

    def loss_value(self, X: np.ndarray, y: np.ndarray,
                   sample_weight: np.ndarray | None = None) -> float | np.ndarray:
        """The loss alone: a float, or a ``(K,)`` array for a stack."""
        X, targets, w = self._targets(X, y, sample_weight)
        _, Z2, out = self._forward(X)
        return self._finish_loss(self._loss.value_and_grad(out, Z2, targets, w,
                                                           self.class_weight)[0])

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
                       ) -> tuple[float | np.ndarray, dict[str, np.ndarray]]:
        """Loss and its gradient with respect to every parameter.

        Parameters
        ----------
        X : (n, n_in), or (K, n, n_in) for a stack
        y : (n,) int labels in ``0..C-1`` (or (K, n) for a stack)
        sample_weight : (n,) or (K, n), optional
            Non-negative per-sample weights; the loss is their weighted mean, so
            a 0/1 mask restricts each model of a stack to its own training fold.

        Returns
        -------
        loss : float, or (K,) array for a stack (model k's loss alone)
        grads : dict with the keys and shapes of ``params``; for a stack,
            ``grads[name][k]`` is the gradient of ``loss[k]``.
        """
        X, targets, w = self._targets(X, y, sample_weight)
        p = self.params
        # a diverging network overflows: the optimiser then stops with one clear error
        # (non-finite gradient) instead of a stream of NumPy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            A1, Z2, out = self._forward(X)
            loss, g = self._loss.value_and_grad(out, Z2, targets, w, self.class_weight)
            dZ2 = g if self._loss.grad_wrt_logits else get_activation(self.output).backward(out, g)
            dA1 = dZ2 @ transpose(p["W2"])
            if self.unit_mask is not None:
                dA1 = dA1 * self.unit_mask[..., None, :]
            dZ1 = get_activation(self.hidden).backward(A1, dA1)
            grads = {
                "W1": transpose(X) @ dZ1,
                "b1": dZ1.sum(axis=-2),
                "W2": transpose(A1) @ dZ2,
                "b2": dZ2.sum(axis=-2),
            }
        return self._finish_loss(loss), grads

    def _finish_loss(self, loss) -> float | np.ndarray:
        return float(loss) if self.n_models is None else np.asarray(loss)

    # --- utilities -----------------------------------------------------------
    def config(self) -> dict[str, object]:
        """Constructor arguments (JSON-serialisable), as used by :func:`bpnet.save`."""
        return {"n_inputs": self.n_inputs, "n_hidden": self.n_hidden, "n_outputs": self.n_outputs,
                "hidden": self.hidden, "output": self.output, "loss": self.loss,
                "class_weight": None if self.class_weight is None else self.class_weight.tolist(),
                "init": self.init, "dtype": self.dtype.name, "n_models": self.n_models}

    def copy(self) -> "BPNetwork":
        """A deep copy (parameters and unit mask)."""
        new = object.__new__(BPNetwork)
        new.__dict__.update(self.__dict__)
        new.params = {k: v.copy() for k, v in self.params.items()}
        new.unit_mask = None if self.unit_mask is None else self.unit_mask.copy()
        new.info = copy.deepcopy(self.info)
        return new

    def select_model(self, k: int, compact: bool = True) -> "BPNetwork":
        """Model ``k`` of a stack as a plain network.

        With ``compact=True`` the hidden units masked out in ``unit_mask`` are
        physically removed, so the exported network is smaller.
        """
        if self.n_models is None:
            raise ValueError("select_model needs a stacked network (n_models=K)")
        new = self.copy()
        new.n_models = None
        new.params = {name: v[k].copy() for name, v in self.params.items()}
        new.unit_mask = None if self.unit_mask is None else self.unit_mask[k].copy()
        if self.class_weight is not None and self.class_weight.ndim == 2:  # per-fold weights
            new.class_weight = self.class_weight[k].copy()
        if compact and new.unit_mask is not None:
            live = new.unit_mask != 0
            new.params["W1"] = new.params["W1"][:, live]
            new.params["b1"] = new.params["b1"][live]
            new.params["W2"] = new.params["W2"][live, :]
            new.unit_mask = None
        return new

    def __repr__(self) -> str:
        stack = "" if self.n_models is None else f", n_models={self.n_models}"
        return (f"BPNetwork({self.n_inputs}, {self.n_hidden}, {self.n_outputs}, "
                f"hidden={self.hidden!r}, output={self.output!r}, loss={self.loss!r}{stack})")
