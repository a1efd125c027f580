"""
Why SGD stalls at 0.1224: a network that predicts the base rates
================================================================

:Objective: compute the loss of the best constant prediction, recognise it as a plateau
    in a training curve, and explain why plain SGD stays there while Adam leaves it.
:Prerequisites: mean squared error with one-hot targets; lab 1.
:Time: 10 minutes (lab 2, first).

In the paper's Fig. 2, SGD and SGD with momentum flatten out at a mean squared error of
about 0.12, and a reader may take that for a result. It is the loss of a network that has
learned nothing about the input: one that outputs the class frequencies, 1/7 for every
class, whatever the face. This example derives that number, checks it on a network
built to predict the base rates, and shows plain SGD sitting on it.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.callbacks import Curves, OnEpoch
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.training import train

# %%
# The loss of a constant prediction
# ---------------------------------
# With ``C`` classes, one-hot targets ``t`` and sigmoid outputs ``o``, the loss is the mean
# over patterns and outputs of ``(o_k - t_k)^2``. Suppose the network outputs the same
# ``c_k`` for every pattern, and class ``k`` has frequency ``p_k``. Output ``k`` is wrong by
# ``1 - c_k`` on the patterns of class ``k`` and by ``c_k`` on all others, so
#
# .. math::
#
#     L(c) = \frac{1}{C} \sum_k \left[ p_k (1 - c_k)^2 + (1 - p_k)\, c_k^2 \right],
#
# smallest at ``c_k = p_k`` (set the derivative ``2 (c_k - p_k) / C`` to zero), where
#
# .. math::
#
#     L_{\min} = \frac{1}{C} \sum_k p_k (1 - p_k) = \frac{1 - \sum_k p_k^2}{C}.
#
# With 7 balanced classes, ``p_k = 1/7``: ``L_min = (1 - 1/7) / 7 = 6/49 = 0.1224``.
C = 7
p = np.full(C, 1 / C)
plateau = (1 - np.sum(p ** 2)) / C
print(f"6/49 = {6 / 49:.6f}; the formula gives {plateau:.6f}")
c = np.linspace(0.01, 0.5, 491)
L_of_c = (p[0] * (1 - c) ** 2 + (1 - p[0]) * c ** 2)  # the same for every class when balanced
print(f"best constant output on a grid: c = {c[np.argmin(L_of_c)]:.3f} (1/7 = {1 / 7:.3f}), "
      f"loss {L_of_c.min():.6f}")

# %%
# Check it on a network: zero outgoing weights and output biases ``log(p / (1 - p))``
# make every output exactly ``1/7``, whatever the input. ``bpnet`` computes its loss as
# 6/49:
data = image_dataset_features(synthetic_faces(n_per_class=30, seed=0), progress=False)
X, y = bpnet.Normalizer().fit(data.X).transform(data.X), data.y
base_rates = bpnet.BPNetwork(X.shape[1], 16, C, hidden="sigmoid", output="sigmoid",
                             loss="mse", seed=0)
base_rates.params["W2"][:] = 0.0
base_rates.params["b2"][:] = np.log(p / (1 - p))
print(f"loss of the base-rate network: {base_rates.loss_value(X, y):.6f}")

# %%
# SGD sits on the line
# --------------------
# The paper's network (16 sigmoid hidden units, sigmoid outputs, MSE, full batch) on the
# synthetic faces' 10 LPQ/PHOG features, with plain SGD (lr 0.5) and with Adam (lr 0.01),
# from the same initialisation. After every epoch we note the spread of the outputs: the
# standard deviation, over patterns, of each output, averaged over outputs. A network
# that ignores its input has spread 0.
epochs = 500
runs = {}
for label, name, kwargs in (("SGD (lr 0.5)", "sgd", {"lr": 0.5}),
                            ("Adam (lr 0.01)", "adam", {"lr": 0.01})):
    net = bpnet.BPNetwork(X.shape[1], 16, C, hidden="sigmoid", output="sigmoid", loss="mse",
                          seed=0)
    spread = []
    log = train(net, (X, y), bpnet.make_optimizer(name, net.params, **kwargs), epochs,
                [Curves(), OnEpoch(lambda e, v, net=net, spread=spread:
                                   spread.append(net.forward(X).std(axis=0).mean()))])
    runs[label] = (log.curves["train_loss"], np.array(spread), net.forward(X))
    print(f"{label:<15} loss after {epochs} epochs {log.curves['train_loss'][-1]:.4f} "
          f"(6/49 = {plateau:.4f}), output spread {spread[-1]:.4f}, mean output "
          f"{net.forward(X).mean():.4f} (1/7 = {1 / 7:.4f})")

# %%
# Both runs first fall to the line (Adam within a few dozen epochs, SGD in about a
# hundred): the easiest thing to learn is the output biases, which only need the class
# frequencies. There the gradient of every
# output bias is zero (the errors of each output average out over the patterns), and
# what is left to learn depends on the input, through the hidden layer: a much weaker
# signal. Plain SGD moves by ``lr`` times that small gradient and stays on the line,
# its outputs almost the same for every face (spread near 0, every output near 1/7).
# Adam divides each weight's step by the size of that weight's own recent gradients,
# so a small but consistent gradient still moves the weights at full speed, and its
# outputs start to depend on the face. (With unbalanced classes the line is lower,
# ``(1 - sum p_k^2) / C``: if the 0.120 read off Fig. 2 is this plateau, the training
# set's ``sum p_k^2`` was 0.16 instead of the balanced 1/7 = 0.143.)
fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(12, 3.5))
epoch = np.arange(1, epochs + 1)
for label, (loss, spread, out) in runs.items():
    line, = ax.plot(epoch, loss, label=label)
    bx.plot(epoch, spread, color=line.get_color(), label=label)
    cx.hist(out.ravel(), bins=np.linspace(0, 1, 41), alpha=0.6, color=line.get_color(),
            label=label)
ax.axhline(plateau, color="black", ls="--", lw=1, label="predict 1/7 for all: 6/49 = 0.1224")
ax.set(xlabel="epoch", ylabel="training loss (MSE)", ylim=(0.09, 0.2),
       title="the plateau is the base-rate loss")
bx.set(xlabel="epoch", ylabel="spread of the outputs over patterns",
       title="does the output depend on the input?")
cx.axvline(1 / 7, color="black", ls="--", lw=1, label="1/7")
cx.set(xlabel="network output", ylabel="count", title=f"all outputs after {epochs} epochs")
for a in (ax, bx, cx):
    a.legend(fontsize=7)
fig.tight_layout()
plt.show()
