# Figures: per spectrum (fit, F vs K, F vs noise sd, peak positions, swap acceptance) and the
# campaign overview, PNG (in the report, with captions) and PDF.


rule spectrum_figures:
    input:
        stores=lambda wildcards: C.fit_stores(wildcards.id),
        table=paths.path(R, paths.MODEL_SELECTION),
        info=paths.path(R, paths.SELECT_INFO),
    output:
        fit=report(
            paths.path(R, paths.FIGURE, figure="fit", ext="png"),
            caption="../report/fit.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "fit"},
        ),
        free_energy=report(
            paths.path(R, paths.FIGURE, figure="free_energy", ext="png"),
            caption="../report/free_energy.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "F vs K"},
        ),
        noise=report(
            paths.path(R, paths.FIGURE, figure="noise", ext="png"),
            caption="../report/noise.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "F vs noise sd"},
        ),
        positions=report(
            paths.path(R, paths.FIGURE, figure="positions", ext="png"),
            caption="../report/positions.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "peak positions"},
        ),
        swap=report(
            paths.path(R, paths.FIGURE, figure="swap", ext="png"),
            caption="../report/swap.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "swap acceptance"},
        ),
        pdf=[paths.path(R, paths.FIGURE, figure=name, ext="pdf") for name in paths.FIGURES],
    log:
        f"{L}/figures/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/spectrum_figures.py"


rule campaign_figure:
    input:
        paths.path(R, paths.SUMMARY_TSV),
    output:
        png=report(
            paths.path(R, paths.CAMPAIGN_FIGURE, ext="png"),
            caption="../report/campaign.rst",
            category="Campaign",
            labels={"figure": "overview"},
        ),
        pdf=paths.path(R, paths.CAMPAIGN_FIGURE, ext="pdf"),
    log:
        f"{L}/figures/campaign.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/campaign_figure.py"
