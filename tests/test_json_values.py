"""bpnet.json_values.to_json_value: the one conversion of results to JSON."""
import json
import math

import numpy as np

from bpnet.json_values import read_json, to_json_value


def test_numpy_values_become_plain_json_recursively():
    value = {np.int64(1): (np.float32(0.5), np.arange(3)), "b": [np.bool_(True), "x", None]}
    out = to_json_value(value)
    assert out == {1: [0.5, [0, 1, 2]], "b": [True, "x", None]}
    assert type(next(iter(out))) is int and type(out[1][0]) is float
    json.dumps(out, allow_nan=False)


def test_non_finite_floats_are_none_unless_kept():
    value = [np.nan, np.float64(np.inf), 1.0]
    assert to_json_value(value) == [None, None, 1.0]
    kept = to_json_value(np.array(value), finite=False)
    assert math.isnan(kept[0]) and kept[1:] == [math.inf, 1.0]


def test_read_json_takes_the_text_or_a_file_and_keeps_infinity(tmp_path):
    text = json.dumps({"t": math.inf, "n": [1, 2]}, allow_nan=True)
    (tmp_path / "r.json").write_text(text)
    for given in (text, "  " + text, tmp_path / "r.json", str(tmp_path / "r.json")):
        assert read_json(given) == {"t": math.inf, "n": [1, 2]}


def test_the_statistics_dict_form_is_the_one_conversion():
    from bpnet.stats import corrected_resampled_t

    res = corrected_resampled_t(np.array([0.1, 0.2, 0.15, 0.12]), 80, 20)
    d = res.to_dict()
    assert d == to_json_value(d, finite=False)  # plain JSON types all through
    assert type(res).from_dict(json.loads(json.dumps(d))) == res
