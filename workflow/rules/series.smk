# Series: the frames of a time, temperature or depth scan (manifest series rows or a stack)
# as one result: trends table, model changes and the trends figure.


rule series:
    input:
        info=lambda wildcards: [paths.path(R, paths.SELECT_INFO, id=k)
                                for k in C.series[wildcards.series]],
        peaks=lambda wildcards: [paths.path(R, paths.SELECT_PEAKS, id=k)
                                 for k in C.series[wildcards.series]],
        tables=lambda wildcards: [paths.path(R, paths.MODEL_SELECTION, id=k)
                                  for k in C.series[wildcards.series]],
    output:
        trends=report(
            paths.path(R, paths.SERIES_TRENDS),
            caption="../report/series.rst",
            category="Series",
            subcategory="{series}",
            labels={"series": "{series}", "table": "trends"},
        ),
        parquet=paths.path(R, paths.SERIES_PARQUET),
        changes=paths.path(R, paths.SERIES_CHANGES),
        figure=report(
            paths.path(R, paths.SERIES_FIGURE, ext="png"),
            caption="../report/series.rst",
            category="Series",
            subcategory="{series}",
            labels={"series": "{series}", "figure": "trends"},
        ),
        pdf=paths.path(R, paths.SERIES_FIGURE, ext="pdf"),
    params:
        orders=lambda wildcards: [C.order_of(k) for k in C.series[wildcards.series]],
    log:
        f"{L}/series/{{series}}.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/series.py"
