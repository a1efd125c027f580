"""bpnet.settings.Settings: the one description of a training run, shared by every layer."""
import dataclasses
import inspect

import numpy as np
import pytest

import bpnet
from bpnet.cross_validation import cross_validate
from bpnet.settings import PARAMS, Settings


def test_bpclassifier_takes_every_setting_with_the_same_default():
    sig = inspect.signature(bpnet.BPClassifier.__init__).parameters
    for field in dataclasses.fields(Settings):
        assert sig[field.name].default == field.default, field.name
    assert PARAMS == tuple(f.name for f in dataclasses.fields(Settings))


def test_from_dict_layers_defaults_and_names_unknown_settings():
    s = Settings.from_dict({"lr": 0.5}, dtype="float32", lr=0.1)
    assert (s.lr, s.dtype, s.n_hidden) == (0.5, "float32", 16)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['n_hiden'\]"):
        Settings.from_dict({"n_hiden": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr = 1.0
    assert s.replace(n_hidden=3).to_dict() == {**s.to_dict(), "n_hidden": 3}


def test_builders_follow_the_settings():
    s = Settings(n_hidden=3, hidden="tanh", output="softmax", loss="cross_entropy",
                 optimizer="sgd", lr=0.2, momentum=0.5, dtype="float32",
                 class_weight="balanced")
    net = s.build_network(4, 3, 0, class_weight=s.class_weights(np.array([0, 0, 1, 2]), 3))
    assert (net.n_hidden, net.hidden, net.output, net.dtype) == (3, "tanh", "softmax",
                                                                np.float32)
    np.testing.assert_allclose(net.class_weight, [4 / 6, 4 / 3, 4 / 3])
    opt = s.build_optimizer(net.params)
    assert isinstance(opt, bpnet.SGD) and opt.momentum == 0.5


def _imbalanced(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, int), np.arange(n - n // 2) % 2 + 1]
    return rng.normal(size=(n, d)) + y[:, None], y


@pytest.mark.parametrize("extra", [
    {},
    {"batch_size": 16},
    {"input_noise": 0.3},
    {"loss": "cross_entropy", "output": "softmax", "class_weight": "balanced"},
    {"loss": "cross_entropy", "output": "sigmoid", "class_weight": "balanced"},
    {"class_weight": "balanced"},  # MSE: the weights ride on the samples
])
def test_one_fold_cross_validation_is_fit_bit_for_bit_with_every_setting(extra):
    X, y = _imbalanced()
    settings = dict(n_hidden=5, epochs=12, lr=0.03, dtype="float64", **extra)
    clf = bpnet.BPClassifier(**settings, random_state=7).fit(X, y)
    res = cross_validate(X, y, [(np.arange(len(y)), np.array([], dtype=int))], normalize=False,
                         random_state=7, **settings)
    for name, p in clf.net_.params.items():
        np.testing.assert_array_equal(res.trained.params[name][0], p)
    np.testing.assert_array_equal(res.curves["train_loss"][:, 0], clf.history_["loss"])
    assert res.settings["input_noise"] == settings.get("input_noise", 0.0)


def test_input_noise_changes_training_and_zero_is_none():
    X, y = _imbalanced()
    fits = [bpnet.BPClassifier(4, epochs=5, input_noise=s, random_state=0).fit(X, y)
            for s in (0.0, 0.0, 0.5)]
    np.testing.assert_array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    assert not np.array_equal(fits[0].coefs_[0], fits[2].coefs_[0])
