"""Inference: per-spectrum fits, Bayesian integration, free energies, model selection, the fit
result containers and summaries, and the ``bayespec fit`` / ``bayespec integrate`` runners and
output writers."""
