"""Figures of fits (:mod:`.spectrum`, re-exported here: ``from bayespec import plots;
plots.fit_figure(...)``) and of an integration (:mod:`.integration`)."""

from .spectrum import (SWAP_WARN, campaign_figure, figures_for_dir, fit_figure,
                       free_energy_figure, noise_figure, positions_figure, save, swap_figure,
                       write_figures)

__all__ = ["fit_figure", "free_energy_figure", "noise_figure", "positions_figure", "swap_figure",
           "campaign_figure", "figures_for_dir", "write_figures", "save", "SWAP_WARN"]
