"""bpnet: a one-hidden-layer backpropagation network in NumPy, written to be read.

Hand-written forward and backward passes (:mod:`bpnet.network`), optimisers
identical to ``torch.optim`` (:mod:`bpnet.optim`), a public gradient checker
(:func:`bpnet.gradcheck`), and a scikit-learn style classifier
(:class:`bpnet.BPClassifier`). PyTorch is optional and only used by
:mod:`bpnet.torch_reference`, the oracle the tests compare against.
"""
from .estimator import BPClassifier, TrainingError
from .gradcheck import GradcheckReport, gradcheck
from .io import load, save
from .network import BPNetwork, one_hot
from .optim import SGD, Adam, AdamW, Optimizer, make_optimizer

__version__ = "0.1.0"

__all__ = [
    "BPNetwork", "BPClassifier", "TrainingError", "SGD", "Adam", "AdamW", "Optimizer",
    "make_optimizer", "gradcheck", "GradcheckReport", "save", "load", "one_hot", "__version__",
]
