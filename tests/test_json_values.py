"""bpnet.json_values.to_json_value: the one conversion of results to JSON."""
import json
import math

import numpy as np

from bpnet.json_values import to_json_value


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
