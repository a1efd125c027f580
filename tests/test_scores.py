"""What BPClassifier's scores and probabilities mean, per output activation (bpnet.class_scores)."""
import numpy as np
import pytest

import bpnet
from bpnet.class_scores import decision_scores, probabilities, project_to_simplex
from bpnet.training import predict_outputs


def blobs(n_per_class=30, n_classes=3, n_features=4, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, n_features))
    X = np.concatenate([c + spread * rng.normal(size=(n_per_class, n_features)) for c in centres])
    return X, np.repeat(np.arange(n_classes), n_per_class)


@pytest.mark.parametrize("output,loss", [("sigmoid", "mse"), ("softmax", "cross_entropy"),
                                         ("sigmoid", "cross_entropy"), ("identity", "mse"),
                                         ("softmax", "mse")])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_scores_probabilities_and_predictions_agree(output, loss, n_classes):
    X, y = blobs(n_classes=n_classes, spread=2.5)  # overlapping: probabilities in between
    clf = bpnet.BPClassifier(6, output=output, loss=loss, epochs=30, lr=0.05,
                             random_state=0).fit(X, y)
    d, p, pred = clf.decision_function(X), clf.predict_proba(X), clf.predict(X)
    out = predict_outputs(clf.net_, X)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(p.argmax(axis=1), pred)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(p), rtol=1e-9, atol=1e-12)
    if n_classes == 2:
        assert d.shape == (len(X),)
        np.testing.assert_array_equal(clf.classes_[(d > 0).astype(int)], pred)
        order = np.argsort(d)
        assert np.all(np.diff(p[order, 1]) >= -1e-15)  # the probability ranks like the score
    else:
        assert d.shape == (len(X), n_classes)
        np.testing.assert_array_equal(d.argmax(axis=1), pred)
    if output == "identity":  # the outputs moved onto the simplex
        np.testing.assert_allclose(p, project_to_simplex(out), atol=1e-12)
        if n_classes == 2:
            np.testing.assert_allclose(p[:, 1], np.clip((1 + d) / 2, 0, 1), atol=1e-12)
    else:  # sigmoid: outputs over their sum; softmax: the outputs themselves
        np.testing.assert_allclose(p, out / out.sum(axis=1, keepdims=True), rtol=1e-10)
        if n_classes == 2:  # the binary score is the log-odds of class 1
            np.testing.assert_allclose(d, np.log(p[:, 1] / p[:, 0]), rtol=1e-8, atol=1e-10)


def test_saturated_sigmoid_outputs_still_rank():
    """sigmoid(z) rounds to 1.0 for z > 37; the scores (log sigmoid(z)) keep the order."""
    net_out = np.array([[40.0, 45.0], [-800.0, -790.0]])
    s = decision_scores("sigmoid", net_out)
    assert np.all(np.isfinite(s)) and s[0, 1] > s[0, 0] and s[1, 1] > s[1, 0]
    p = probabilities("sigmoid", s)
    np.testing.assert_allclose(p[1], [1 / (1 + np.e ** 10), 1 / (1 + np.e ** -10)])


def test_simplex_projection_is_the_nearest_distribution():
    rng = np.random.default_rng(0)
    v = rng.normal(scale=2.0, size=(200, 4))
    p = project_to_simplex(v)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    q = rng.dirichlet(np.ones(4), size=(50, 200))  # no distribution is nearer
    assert np.all(((v - q) ** 2).sum(-1) >= ((v - p) ** 2).sum(-1) - 1e-12)
    np.testing.assert_allclose(project_to_simplex(p), p, atol=1e-15)


def test_float32_network_predicts_in_float64_whatever_the_batch():
    X, y = blobs()
    clf = bpnet.BPClassifier(6, dtype="float32", epochs=20, random_state=0).fit(X, y)
    assert clf.net_.params["W1"].dtype == np.float32
    full = clf.decision_function(X)
    assert full.dtype == np.float64
    one_by_one = np.concatenate([clf.decision_function(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(one_by_one, full, rtol=1e-14)  # float64 roundings, not float32


@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_predict_outputs_gives_the_logits_of_the_same_pass(output):
    net = bpnet.BPNetwork(4, 5, 3, output=output, seed=1)
    X = np.random.default_rng(0).normal(size=(7, 4))
    z = predict_outputs(net, X, logits=True)
    act = bpnet.activations.get_activation(output)
    np.testing.assert_allclose(act.forward(z), predict_outputs(net, X), rtol=1e-12, atol=1e-15)
