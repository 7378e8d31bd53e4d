# Figures: per spectrum (fit, F vs K, F vs noise sd, peak positions, swap acceptance) and the
# campaign overview, PNG (in the report, with captions) and PDF.


rule spectrum_figures:
    input:
        stores=lambda wildcards: C.fit_stores(wildcards.id),
        table=f"{R}/fits/{{id}}/model_selection.csv",
        info=f"{R}/select/{{id}}.json",
    output:
        fit=report(
            f"{R}/figures/{{id}}/fit.png",
            caption="../report/fit.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "fit"},
        ),
        free_energy=report(
            f"{R}/figures/{{id}}/free_energy.png",
            caption="../report/free_energy.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "F vs K"},
        ),
        noise=report(
            f"{R}/figures/{{id}}/noise.png",
            caption="../report/noise.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "F vs noise sd"},
        ),
        positions=report(
            f"{R}/figures/{{id}}/positions.png",
            caption="../report/positions.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "peak positions"},
        ),
        swap=report(
            f"{R}/figures/{{id}}/swap.png",
            caption="../report/swap.rst",
            category="Spectra",
            subcategory="{id}",
            labels={"spectrum": "{id}", "figure": "swap acceptance"},
        ),
        pdf=[f"{R}/figures/{{id}}/{name}.pdf" for name in campaign.FIGURES],
    log:
        f"{L}/figures/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/spectrum_figures.py"


rule campaign_figure:
    input:
        f"{R}/summary.tsv",
    output:
        png=report(
            f"{R}/figures/campaign.png",
            caption="../report/campaign.rst",
            category="Campaign",
            labels={"figure": "overview"},
        ),
        pdf=f"{R}/figures/campaign.pdf",
    log:
        f"{L}/figures/campaign.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/campaign_figure.py"
