"""The pytest plugin of ``bpnet-fer``: a ``bpnet_gradcheck`` fixture for your own tests.

Installed with the package (entry point ``pytest11``), so any test can ask for it::

    def test_my_layer(bpnet_gradcheck):
        bpnet_gradcheck(my_layer, x)            # same forms as assert_gradients_close

The fixture is :func:`bpnet.testing.assert_gradients_close` with two defaults taken from
the pytest configuration: ``tol`` from the ini option ``bpnet_gradcheck_tol`` (default
``1e-6``), and the upstream-gradient ``seed`` of function and layer checks derived from
the test's id, so every test draws its own upstream gradient and draws the same one on
every run. Keyword arguments given in a call win over both.

Loading the plugin imports ``bpnet`` (NumPy only) and never hypothesis or torch, so
installing ``bpnet-fer`` cannot break pytest in an environment that lacks them.
"""
from __future__ import annotations

import zlib
from typing import Any, Callable

import pytest

__all__ = ["bpnet_gradcheck", "pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("bpnet_gradcheck_tol", "largest relative gradient error the bpnet_gradcheck "
                  "fixture accepts", default="1e-6")


@pytest.fixture
def bpnet_gradcheck(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """:func:`bpnet.testing.assert_gradients_close` with the suite's tolerance and a per-test seed."""
    from .testing import assert_gradients_close, is_model

    tol = float(request.config.getini("bpnet_gradcheck_tol"))
    seed = zlib.crc32(request.node.nodeid.encode())  # stable across runs, unlike hash()

    def check(model_or_fn: Any, *args: Any, **kwargs: Any):
        __tracebackhide__ = True
        kwargs.setdefault("tol", tol)
        if not is_model(model_or_fn):  # models have no upstream gradient to seed
            kwargs.setdefault("seed", seed)
        return assert_gradients_close(model_or_fn, *args, **kwargs)

    return check
