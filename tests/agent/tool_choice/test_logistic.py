"""`agent.tool_choice.logistic.fit_logistic`: the Newton fit behind the call decision's learned parts."""

from __future__ import annotations

import numpy as np
import pytest

from agent.tool_choice.logistic import fit_logistic


def test_recovers_the_generating_weights_of_a_noisy_logistic_model():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 2))
    true_w, true_b = np.array([2.0, -1.0]), 0.5
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x @ true_w + true_b)))).astype(float)
    w, b = fit_logistic(x, y, l2=1e-6)
    assert w == pytest.approx(true_w, abs=0.2) and b == pytest.approx(true_b, abs=0.15)


def test_l2_shrinks_the_weights_but_not_the_bias():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])  # separable: unregularised weights would diverge
    w_small, _ = fit_logistic(x, y, l2=0.01)
    w_big, b_big = fit_logistic(x, y, l2=100.0)
    assert np.isfinite(w_small).all() and abs(w_big[0]) < abs(w_small[0])
    # Heavily shrunk weights leave the bias to match the base rate (half positive).
    assert b_big + w_big[0] * 1.5 == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("x, y", [
    (np.zeros(3), np.zeros(3)),  # 1-D x
    (np.zeros((3, 2)), np.zeros(2)),  # a label missing
    (np.zeros((0, 2)), np.zeros(0)),  # nothing to fit
], ids=["1-d", "length-mismatch", "empty"])
def test_bad_shapes_are_a_clear_error(x, y):
    with pytest.raises(ValueError, match="one row per label"):
        fit_logistic(x, y)
