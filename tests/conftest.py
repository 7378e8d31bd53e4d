"""Shared fixtures: the Nagata et al. (2012) synthetic spectrum."""

import numpy as np
import pytest

NAGATA_PEAKS = [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)]


def nagata_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x = 0, 0.01, ..., 3 (n = 301); three Gaussian peaks a exp(-b (x - mu)^2 / 2); s = 0.1."""
    x = np.linspace(0, 3, 301)
    f = sum(a * np.exp(-b * (x - m) ** 2 / 2) for a, m, b in NAGATA_PEAKS)
    return x, f + 0.1 * np.random.default_rng(seed).standard_normal(301)


@pytest.fixture
def nagata():
    return nagata_data(0)
