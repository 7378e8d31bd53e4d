"""Regenerate nagata2012.csv: the Nagata et al. (2012) three-peak spectrum, noise seed 0."""

from pathlib import Path

import numpy as np

PEAKS = [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)]
x = np.linspace(0, 3, 301)
y = sum(a * np.exp(-b * (x - m) ** 2 / 2) for a, m, b in PEAKS)
y = y + 0.1 * np.random.default_rng(0).standard_normal(301)
header = ("# Nagata, Sugita & Okada (2012) synthetic spectrum: x = 0..3 step 0.01, three Gaussian "
          "peaks\n# (a, mu, b) = (0.587, 1.210, 95.689), (1.522, 1.455, 146.837), "
          "(1.183, 1.703, 164.469),\n# noise sd 0.1 from numpy.random.default_rng(0). "
          "Regenerate: python examples/demo/make_demo.py\nx,y\n")
lines = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y))
Path(__file__).with_name("nagata2012.csv").write_text(header + lines)
