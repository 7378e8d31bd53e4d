"""Inference: per-spectrum fits, Bayesian integration, free energies and model selection."""
