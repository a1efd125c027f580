"""The same network, loss and optimisers in PyTorch: the oracle for ``bpnet``.

This is the only module of ``bpnet`` that imports torch, and it does so
lazily, so ``import bpnet`` works without torch installed.

:func:`to_torch` copies a :class:`~bpnet.BPNetwork`'s parameters into a
:class:`TorchBPNetwork`, whose loss is written with PyTorch's own loss
functions (``F.mse_loss``, ``F.cross_entropy``,
``F.binary_cross_entropy_with_logits``) and whose gradients come from
autograd. A stack of K networks is evaluated one model at a time, each on its
own masked subset of the samples, so the oracle shares no code path with the
batched NumPy implementation it checks. ``TorchBPNetwork`` has the same
``params`` / ``loss_and_grads`` interface, so :func:`bpnet.gradcheck` runs on it too.
"""
from __future__ import annotations

import numpy as np

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError("bpnet.torch_reference needs PyTorch: pip install 'bpnet-fer[torch]'") from exc
    return torch


class TorchBPNetwork:
    """A :class:`~bpnet.BPNetwork` rebuilt in PyTorch (same parameters, same loss).

    Attributes
    ----------
    tensors : dict of torch.Tensor
        ``W1``, ``b1``, ``W2``, ``b2`` as leaf tensors with ``requires_grad``.
    """

    def __init__(self, net, device: str = "cpu"):
        torch = _torch()
        self.hidden, self.output, self.loss = net.hidden, net.output, net.loss
        self.n_models, self.n_outputs = net.n_models, net.n_outputs
        dtype = getattr(torch, net.dtype.name)
        self.tensors = {name: torch.tensor(net.params[name], dtype=dtype, device=device,
                                           requires_grad=True) for name in PARAM_NAMES}
        self.class_weight = (None if net.class_weight is None
                             else torch.tensor(net.class_weight, dtype=dtype, device=device))
        self.unit_mask = (None if net.unit_mask is None
                          else torch.tensor(net.unit_mask, dtype=dtype, device=device))

    @property
    def params(self) -> dict:
        """NumPy views of the tensors (writable, so :func:`bpnet.gradcheck` can perturb them)."""
        return {name: t.detach().numpy() for name, t in self.tensors.items()}

    def _model(self, k):
        t = {n: (v if k is None else v[k]) for n, v in self.tensors.items()}
        mask = None if self.unit_mask is None else (self.unit_mask if k is None else self.unit_mask[k])
        return t, mask

    def logits(self, X, k=None):
        """Output logits of model ``k`` (None for an unstacked network)."""
        torch = _torch()
        t, mask = self._model(k)
        act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[self.hidden]
        A1 = act(X @ t["W1"] + t["b1"])
        if mask is not None:
            A1 = A1 * mask
        return A1 @ t["W2"] + t["b2"]

    def forward(self, X, k=None):
        """Outputs after the output activation."""
        torch = _torch()
        z = self.logits(X, k)
        if self.output == "sigmoid":
            return torch.sigmoid(z)
        if self.output == "softmax":
            return torch.softmax(z, dim=-1)
        return z

    def _loss_one(self, X, y, w, k=None):
        """Loss of model ``k`` on ``X`` (n, n_in) with weights ``w`` (n,) or None."""
        torch = _torch()
        F = torch.nn.functional
        z = self.logits(X, k)
        T = F.one_hot(y, self.n_outputs).to(z.dtype)
        weight = self.class_weight
        if weight is not None and weight.ndim == 2:  # a stack's per-model class weights
            weight = weight[k]
        if self.loss == "mse":
            out = self.forward(X, k)
            if w is None:
                return F.mse_loss(out, T)
            return (w * ((out - T) ** 2).mean(-1)).sum() / w.sum()
        if self.output == "softmax":
            if w is None:
                return F.cross_entropy(z, y, weight=weight)
            per = F.cross_entropy(z, y, weight=weight, reduction="none")
            cw = 1.0 if weight is None else weight[y]
            return (w * per).sum() / (w * cw).sum()
        if w is None:
            return F.binary_cross_entropy_with_logits(z, T, weight=weight)
        per = F.binary_cross_entropy_with_logits(z, T, weight=weight, reduction="none")
        return (w * per.mean(-1)).sum() / w.sum()

    def loss_tensor(self, X, y, sample_weight=None):
        """The loss as a torch scalar (a ``(K,)`` tensor for a stack), differentiable."""
        torch = _torch()
        dtype, device = self.tensors["W1"].dtype, self.tensors["W1"].device
        X = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
        y = torch.as_tensor(np.asarray(y), dtype=torch.long, device=device)
        sw = None if sample_weight is None else torch.as_tensor(
            np.asarray(sample_weight), dtype=dtype, device=device)
        if self.n_models is None:
            return self._loss_one(X, y, sw)
        losses = []
        for k in range(self.n_models):
            Xk = X[k] if X.ndim == 3 else X
            yk = y[k] if y.ndim == 2 else y
            wk = None if sw is None else (sw[k] if sw.ndim == 2 else sw)
            if wk is not None and bool(((wk == 0) | (wk == 1)).all()):
                keep = wk.bool()  # a 0/1 mask: use the plain torch loss on the subset
                Xk, yk, wk = Xk[keep], yk[keep], None
            losses.append(self._loss_one(Xk, yk, wk, k))
        return torch.stack(losses)

    def loss_and_grads(self, X, y, sample_weight=None):
        """Loss and autograd gradients as NumPy arrays (the interface of BPNetwork)."""
        for t in self.tensors.values():
            t.grad = None
        loss = self.loss_tensor(X, y, sample_weight)
        loss.sum().backward()
        grads = {n: t.grad.detach().numpy().copy() for n, t in self.tensors.items()}
        value = loss.detach().numpy()
        return (float(value) if self.n_models is None else value.copy()), grads

    def predict_outputs(self, X) -> np.ndarray:
        """Forward outputs as a NumPy array, (n, C) or (K, n, C)."""
        torch = _torch()
        with torch.no_grad():
            X = torch.as_tensor(np.asarray(X), dtype=self.tensors["W1"].dtype)
            if self.n_models is None:
                return self.forward(X).numpy()
            return torch.stack([self.forward(X[k] if X.ndim == 3 else X, k)
                                for k in range(self.n_models)]).numpy()


def to_torch(net, device: str = "cpu") -> TorchBPNetwork:
    """Rebuild ``net`` (a :class:`~bpnet.BPNetwork`) in PyTorch with the same parameters."""
    return TorchBPNetwork(net, device=device)


def torch_optimizer(name: str, model: TorchBPNetwork, **kwargs):
    """The ``torch.optim`` optimiser matching ``bpnet.make_optimizer(name, ...)``."""
    torch = _torch()
    classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    try:
        cls = classes[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(classes)}") from None
    tensors = [model.tensors[n] for n in PARAM_NAMES]
    # foreach=False: the plain per-tensor loop, the textbook form of each rule
    return cls(tensors, foreach=False, **kwargs)


def torch_trajectory(net, X, y, optimizer: str, steps: int, sample_weight=None, **opt_kwargs):
    """Train a torch copy of ``net`` for ``steps`` full-batch steps.

    Returns
    -------
    list of dict
        The parameters (NumPy) after each step; ``net`` itself is not changed.
    """
    model = to_torch(net)
    opt = torch_optimizer(optimizer, model, **opt_kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        model.loss_tensor(X, y, sample_weight).sum().backward()
        opt.step()
        history.append({n: t.detach().numpy().copy() for n, t in model.tensors.items()})
    return history
