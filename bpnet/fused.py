r"""The training fast path: the network's forward and backward pass, fused, samples last.

:class:`~bpnet.network.BPNetwork` is the reference: one readable screen of backprop,
checked against finite differences and PyTorch. :class:`FusedPass` computes the same
numbers (the tests hold it to the reference at 1e-12 in float64, for every activation,
output and loss, one network and stacks, with and without unit masks) in fewer, cheaper
passes over memory. Every trick is one of these:

* **Samples last.** Every large array is ``(K, units, n)``: the hidden layer is
  ``(K, H, n)``, the output ``(K, C, n)``. Per-sample reductions over the 7 classes (the
  loss, the max for accuracy) then run along contiguous rows of ``n`` instead of
  along a last axis of length 7, which NumPy does an element at a time.
* **Biases inside the forward products.** The inputs carry a row of ones
  (``XaT``: ``(K, d + 1, n)``) and so does the hidden layer, so ``[W1.T | b1] @ XaT`` and
  ``[W2.T | b2] @ A`` add the biases with no separate pass.
* **Bias gradients as one matrix-vector product.** ``db1`` and ``db2`` are the row sums of
  the ``(K * units, n)`` gradient blocks: one ``gemv`` by a vector of ones for all models
  (three times faster than ``sum(axis=2)``), and the weight-gradient products skip the
  rows of ones: OpenBLAS's Haswell kernel runs the paper's ``dZ @ [X | 1]`` (11 result
  columns instead of 10) and ``G @ [A; 1].T`` (33 instead of 32) a fifth slower.
* **Output rows padded to a multiple of 4.** The output products (``P2 @ [A; 1]`` and
  ``G @ A.T``) run on ``(K, C', ...)`` buffers with ``C' = 8`` for 7 classes, the extra
  rows zero: OpenBLAS's Haswell kernel does 8 rows 10-30 % faster than 7 (SkylakeX's
  small-matrix kernels about as fast). The elementwise passes read the logits through a
  ``[:, :C]`` view once and otherwise work on contiguous ``(K, C, n)`` arrays (NumPy is
  slower on the views); the last pass over ``G`` writes it into its padded buffer.
* **Sigmoid hidden units as one tanh.** ``sigmoid(z) = 0.5 + 0.5 * tanh(z / 2)`` is stable
  for any ``z`` and costs one transcendental. The ``1/2`` inside is folded into the
  packed ``W1``; the affine ``0.5 * t + 0.5`` outside is folded into the packed output
  weights (``W2 @ (0.5 t + 0.5) = (0.5 W2) @ t + 0.5 * W2.sum(0)``), and the derivative
  ``a (1 - a) = (1 - t^2) / 4`` takes its ``1/4`` from the packed backward weights. The
  hidden layer is then stored as ``t = tanh(z / 2)``: one pass forward instead of four.
* **Constant factors on the small side.** The loss's ``2 / C`` (MSE) or ``1 / C``
  (sigmoid cross-entropy) multiplies the packed backward weights and the small gradient
  matrices, not the ``(K, C, n)`` block.
* **Buffers allocated once** and written with ``out=``, the gradients too when the
  optimiser offers its own (:attr:`bpnet.optim.FlatParams.grads`); only the small weight
  matrices are packed at every step.

A unit mask (pruning) is applied through the weights: a pruned unit's outgoing weights
are zeroed in the packed copies, so it adds nothing to the output and receives no
gradient, exactly as ``A1 * mask`` does in the reference.
"""
from __future__ import annotations

import numpy as np

from .network import BPNetwork


def padded_rows(C: int) -> int:
    """Rows of the output products' buffers: ``C`` rounded up to a multiple of 4 from 3 up
    (OpenBLAS's Haswell kernel is slowest on 3, 7, 11 rows; 2 stay 2, padding would double them)."""
    return C if C <= 2 else -(-C // 4) * 4


class FusedPass:
    """Forward and backward of ``net`` over ``n`` samples, with reusable buffers.

    Parameters
    ----------
    net : BPNetwork
        One network or a stack; its ``params`` are read at every call (so an optimiser
        may update them in place between calls).
    n : int
        Number of samples per call (the whole set, or one mini-batch).

    Notes
    -----
    The arrays passed in are prepared once with :meth:`inputs` and :meth:`targets`;
    weights are per-sample loss weights ``(K, n)`` that sum to one per model (see
    :func:`bpnet.losses.sample_weights`).
    """

    def __init__(self, net: BPNetwork, n: int):
        self.net = net
        self.K = 1 if net.n_models is None else net.n_models
        K, H, C, d = self.K, net.n_hidden, net.n_outputs, net.n_inputs
        Cp = padded_rows(C)
        dt = net.dtype
        self.n = n
        self.tanh_space = net.hidden == "sigmoid"  # hidden layer stored as t = tanh(z / 2)
        # the loss's constant factor on d loss / d z, applied to the small matrices instead
        self.g_scale = 2.0 / C if net.loss == "mse" else 1.0 / C if net.output == "sigmoid" else 1.0
        # hidden layer with a row of ones below it: the output bias rides in the product
        self.hidden = np.empty((K, H + 1, n), dt)
        self.hidden[:, H, :] = 1.0
        # the output products' buffers have Cp >= C rows, the extra ones zero (never written)
        self.P2_rows = np.zeros((K, Cp, H + 1), dt)  # [W2.T | b2], with the sigmoid's affine folded in
        self.P2 = self.P2_rows[:, :C]
        self.logits_rows = np.zeros((K, Cp, n), dt)
        self.logits = self.logits_rows[:, :C]
        self.out = self.logits if net.output == "identity" else np.empty((K, C, n), dt)
        self.grad_out = np.empty((K, C, n), dt)  # contiguous: NumPy's passes over views are slower
        self.grad_out_rows = self.grad_out if Cp == C else np.zeros((K, Cp, n), dt)
        self.scratch_out = np.empty((K, C, n), dt)
        self.grad_hidden = np.empty((K, H, n), dt)
        self.scratch_hidden = np.empty((K, H, n), dt)
        self.loss = np.empty((K, n), dt)
        self._diff_ready = False  # grad_out holds out - t from per_sample_loss
        self._ones = np.ones(n, dt)  # bias gradients: row sums as one gemv
        self._true = None  # (y, flat indices of each sample's true-class output), for correct()
        self.P1 = np.empty((K, H, d + 1), dt)  # [W1.T | b1], scaled by 1/2 in tanh space
        self.Q = np.empty((K, H, C), dt)  # W2 for the backward pass (times 1/4 in tanh space)
        self.dW1T = np.empty((K, H, d), dt)
        self.db1 = np.empty((K, H), dt)
        self.dW2T = np.empty((K, Cp, H), dt)
        self.db2 = np.empty((K, Cp), dt)

    # --- data, prepared once per fit --------------------------------------------------
    def inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` (n, d) or (K, n, d) -> ``XaT`` (1 or K, d + 1, n): transposed, with a row of ones."""
        X = np.asarray(X, dtype=self.net.dtype)
        X3 = X[None] if X.ndim == 2 else X
        XaT = np.empty((X3.shape[0], X3.shape[2] + 1, X3.shape[1]), self.net.dtype)
        XaT[:, :-1, :] = X3.transpose(0, 2, 1)
        XaT[:, -1, :] = 1.0
        return XaT

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Labels (n,) or (K, n) -> one-hot targets, classes on the middle axis: (1 or K, C, n)."""
        y2 = np.atleast_2d(y)
        return (np.arange(self.net.n_outputs)[None, :, None] == y2[:, None, :]).astype(self.net.dtype)

    # --- the weights, packed at every step --------------------------------------------
    def _pack(self) -> None:
        p, net = self.net.params, self.net
        lead = (lambda a: a[None]) if net.n_models is None else (lambda a: a)
        W1, b1, W2, b2 = (lead(p[k]) for k in ("W1", "b1", "W2", "b2"))
        if net.unit_mask is not None:
            W2 = W2 * lead(net.unit_mask)[..., None]  # a pruned unit feeds nothing forward
        d, H = W1.shape[-2], W1.shape[-1]
        scale = 0.5 if self.tanh_space else 1.0
        np.multiply(W1.transpose(0, 2, 1), scale, out=self.P1[:, :, :d])
        np.multiply(b1, scale, out=self.P1[:, :, d])
        np.multiply(W2.transpose(0, 2, 1), scale, out=self.P2[:, :, :H])
        if self.tanh_space:  # W2 @ (0.5 t + 0.5) + b2 = (0.5 W2) @ t + (b2 + 0.5 sum_h W2)
            np.add(b2, 0.5 * W2.sum(axis=1), out=self.P2[:, :, H])
        else:
            self.P2[:, :, H] = b2
        # a(1-a) = (1-t^2)/4; and the loss's constant factor
        np.multiply(W2, (0.25 if self.tanh_space else 1.0) * self.g_scale, out=self.Q)

    # --- forward ----------------------------------------------------------------------
    def forward(self, XaT: np.ndarray) -> np.ndarray:
        """Outputs after the output activation, ``(K, C, n)`` (a buffer: copy to keep it)."""
        self._pack()
        self._diff_ready = False
        H = self.net.n_hidden
        A = self.hidden[:, :H, :]
        np.matmul(self.P1, XaT, out=A)
        if self.net.hidden == "relu":
            np.maximum(A, 0.0, out=A)
        else:  # tanh, or sigmoid as tanh(z / 2) (the 1/2 is already in P1)
            np.tanh(A, out=A)
        np.matmul(self.P2_rows, self.hidden, out=self.logits_rows)
        Z, out = self.logits, self.out
        if self.net.output == "sigmoid":  # 0.5 + 0.5 tanh(z / 2): stable, one transcendental
            np.multiply(Z, 0.5, out=out)
            np.tanh(out, out=out)
            out *= 0.5
            out += 0.5
        elif self.net.output == "softmax":
            self._zmax = Z.max(axis=1, keepdims=True)
            np.subtract(Z, self._zmax, out=out)
            np.exp(out, out=out)
            self._zsum = out.sum(axis=1, keepdims=True)
            out /= self._zsum
        return out

    # --- loss and backward -------------------------------------------------------------
    def per_sample_loss(self, T: np.ndarray) -> np.ndarray:
        """Each sample's loss ``(K, n)`` from the last :meth:`forward` (unweighted).

        ``mse``: mean over classes of ``(out - t)^2``; softmax cross-entropy:
        ``logsumexp(z) - z_y``; sigmoid cross-entropy: mean over classes of
        ``cw_c (softplus(z) - t z)``.
        """
        net, Z, out, tmp, loss = self.net, self.logits, self.out, self.scratch_out, self.loss
        C = net.n_outputs
        if net.loss == "mse":  # out - t is kept for backward(), which needs it too
            np.subtract(out, T, out=self.grad_out)
            self._diff_ready = True
            np.einsum("kcn,kcn->kn", self.grad_out, self.grad_out, out=loss)  # one pass, not two
            loss /= C
        elif net.output == "softmax":  # logsumexp(z) - z_y, from the forward's max and sum
            np.multiply(Z, T, out=tmp)
            z_true = tmp.sum(axis=1)
            np.log(self._zsum[:, 0, :], out=loss)
            loss += self._zmax[:, 0, :]
            loss -= z_true
        else:  # sigmoid cross-entropy: softplus(z) = max(z, 0) + log1p(exp(-|z|))
            np.abs(Z, out=tmp)
            np.negative(tmp, out=tmp)
            np.exp(tmp, out=tmp)
            np.log1p(tmp, out=tmp)
            tmp += np.maximum(Z, 0.0)
            tmp -= T * Z
            if net.class_weight is not None:
                tmp *= net.class_weight[..., None]  # (C, 1) or a stack's (K, C, 1)
            np.sum(tmp, axis=1, out=loss)
            loss /= C
        return loss

    def backward(self, XaT: np.ndarray, T: np.ndarray, w: np.ndarray,
                 out: dict | None = None) -> dict:
        """Gradients of ``sum_i w_i loss_i`` per model, in the layout of ``net.params``.

        Call after :meth:`forward` on the same ``XaT`` (and, optionally, :meth:`per_sample_loss`).
        ``out``: arrays shaped like ``net.params`` to write the gradients into (e.g.
        :attr:`bpnet.optim.FlatParams.grads`, saving a copy per step); default new arrays.
        """
        net, grads = self.net, out
        K, H, C, d = self.K, net.n_hidden, net.n_outputs, net.n_inputs
        out, G, tmp = self.out, self.grad_out, self.scratch_out
        if not self._diff_ready:
            np.subtract(out, T, out=G)
        # G = d loss / d z up to the constant g_scale (2/C for MSE, 1/C for sigmoid
        # cross-entropy), which multiplies Q and the gradients below instead of G
        if net.loss == "mse":  # d/d out = 2 (out - t) / C, then back through the output
            if net.output == "sigmoid":  # sigmoid'(z) = out (1 - out)
                np.subtract(1.0, out, out=tmp)
                tmp *= out
                G *= tmp
            elif net.output == "softmax":  # out * (g - sum_c g_c out_c)
                np.multiply(G, out, out=tmp)
                G -= tmp.sum(axis=1, keepdims=True)
                G *= out
        elif net.output == "sigmoid" and net.class_weight is not None:
            G *= net.class_weight[..., None]  # cross-entropy with its own output: d/dz = out - t
        # the sample weights last (every step above is linear in G, sample by sample), written
        # into the products' padded buffer: the one pass that a copy into it would cost
        Gp = self.grad_out_rows
        G = Gp[:, :C]
        np.multiply(self.grad_out, w[:, None, :], out=G)
        # output layer: dW2.T = G @ A.T (on the padded rows), db2 = G @ 1 (one gemv)
        np.matmul(Gp, self.hidden[:, :H, :].transpose(0, 2, 1), out=self.dW2T)
        np.matmul(Gp.reshape(-1, Gp.shape[-1]), self._ones, out=self.db2.reshape(-1))
        s = self.g_scale
        if grads is None:
            grads = {k: np.empty(p.shape, p.dtype) for k, p in net.params.items()}
        lead = (lambda a: a[None]) if net.n_models is None else (lambda a: a)
        dW1, db1, dW2, db2 = (lead(grads[k]) for k in ("W1", "b1", "W2", "b2"))
        np.multiply(self.db2[:, :C], s, out=db2)
        np.multiply(self.dW2T[:, :C].transpose(0, 2, 1), 0.5 * s if self.tanh_space else s, out=dW2)
        if self.tanh_space:  # A = 0.5 t + 0.5, so G @ A.T = 0.5 G @ t.T + 0.5 sum_n G
            dW2 += 0.5 * db2[:, None, :]
        if net.unit_mask is not None:
            dW2 *= lead(net.unit_mask)[..., None]
        # hidden layer: dZ1 = (W2 @ G) * f'(A) (g_scale is in Q)
        dZ = self.grad_hidden
        np.matmul(self.Q, G, out=dZ)
        A, sc = self.hidden[:, :H, :], self.scratch_hidden
        if net.hidden == "relu":  # 1 where the unit is on
            np.greater(A, 0.0, out=sc)
            dZ *= sc
        else:  # tanh: 1 - a^2; sigmoid: (1 - t^2) / 4, the 1/4 already in Q
            np.multiply(A, A, out=sc)
            sc *= dZ
            dZ -= sc
        # input layer: dW1.T = dZ1 @ X (the row of ones skipped), db1 = dZ1 @ 1 (one gemv)
        np.matmul(dZ, XaT[:, :d, :].transpose(0, 2, 1), out=self.dW1T)
        np.matmul(dZ.reshape(K * H, -1), self._ones, out=self.db1.reshape(-1))
        np.copyto(dW1, self.dW1T.transpose(0, 2, 1))
        np.copyto(db1, self.db1)
        return grads

    def correct(self, y: np.ndarray) -> np.ndarray:
        """Whether each sample's prediction (``argmax`` of the outputs) is its label: (K, n) bool.

        ``argmax`` along the middle (class) axis is slow in NumPy, so: the true class wins
        when its output is the largest (one max along contiguous rows, one gather by
        precomputed indices), and the rare samples whose largest output is shared by
        several classes (counted in one byte per sample) fall back to ``argmax``'s rule
        (the first of them).
        """
        out, K, n = self.out, self.K, self.n
        C = out.shape[1]
        if self._true is None or self._true[0] is not y:
            yy = np.broadcast_to(np.atleast_2d(y), (K, n))
            flat = (np.arange(K)[:, None] * C + yy) * n + np.arange(n)
            self._true = (y, flat, np.empty((K, C, n), bool), np.empty((K, n), self.net.dtype))
        _, flat, eq, top = self._true
        np.max(out, axis=1, out=top)
        ok = np.take(out if out.flags.c_contiguous else out.copy(), flat) >= top
        np.equal(out, top[:, None, :], out=eq)
        tied = np.add.reduce(eq.view(np.uint8), axis=1, dtype=np.uint8 if C < 256 else None) > 1
        if tied.any():
            k, i = np.nonzero(tied)
            yy = np.broadcast_to(np.atleast_2d(y), tied.shape)
            ok[k, i] = out[k, :, i].argmax(axis=1) == yy[k, i]
        return ok

    def predict(self) -> np.ndarray:
        """Predicted class per sample from the last :meth:`forward`: (K, n)."""
        return self.out.argmax(axis=1)
