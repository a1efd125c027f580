"""bpnet: a one-hidden-layer backpropagation network in NumPy, written to be read.

Hand-written forward and backward passes (:mod:`bpnet.network`), optimisers
identical to ``torch.optim`` (:mod:`bpnet.optim`), public gradient checkers for
models, functions and layers (:mod:`bpnet.gradcheck`; assertions and hypothesis
strategies for your own tests in :mod:`bpnet.testing`), a scikit-learn style
classifier (:class:`bpnet.BPClassifier`), one training loop for all of them
(:mod:`bpnet.training`), distinctiveness pruning (:mod:`bpnet.pruning`),
cross-validation with all folds trained at once (:mod:`bpnet.cross_validation`), splits
(:mod:`bpnet.splits`), normalisation (:mod:`bpnet.preprocessing`) and the
paper's metrics (:mod:`bpnet.metrics`). The data side of the study (SFEW
loaders, image folders, PHOG/LPQ/PCA features, the synthetic faces) is the
sub-package :mod:`bpnet.data`. PyTorch is optional and only used by
:mod:`bpnet.torch_reference`, the oracle the tests compare against.
"""
from .cross_validation import cross_validate
from .estimator import BPClassifier
from .gradcheck import GradcheckReport, gradcheck, gradcheck_function, gradcheck_layer
from .io import load, save
from .network import BPNetwork, one_hot
from .optim import SGD, Adam, AdamW, Optimizer, TrainingError, make_optimizer
from .preprocessing import Normalizer
from .prune_retrain import PruningHistory, plot_pruning_history, prune_and_retrain
from .pruning import DistinctivenessPruner, Removal
from .results import CVResult
from .training import EarlyStopping, train

__version__ = "0.1.0"

__all__ = [
    "BPNetwork", "BPClassifier", "TrainingError", "SGD", "Adam", "AdamW", "Optimizer",
    "make_optimizer", "gradcheck", "gradcheck_function", "gradcheck_layer", "GradcheckReport",
    "save", "load", "one_hot",
    "DistinctivenessPruner", "Removal", "prune_and_retrain", "PruningHistory",
    "plot_pruning_history", "cross_validate", "CVResult", "Normalizer", "train", "EarlyStopping",
    "__version__",
]
