"""bayespec: Bayesian spectral deconvolution by exchange Monte Carlo."""

__version__ = "0.1.0"
