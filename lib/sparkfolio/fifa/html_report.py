"""``report.html``: the key figures of a fifa-report run, linking its plots and interactive pages."""

from __future__ import annotations

import html
from typing import Any


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], fmt: dict[str, str] | None = None) -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key)
            if v is None:
                text = ""
            elif key in fmt:
                text = format(v, fmt[key])
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(metrics: dict[str, Any], images: list[tuple[str, str]], pages: list[tuple[str, str]]) -> str:
    """The report page: data quality, the seed observation, top tables, then the figures.

    Parameters
    ----------
    metrics:
        The job's metrics.json content.
    images:
        (file name, caption) of PNGs in the output folder, embedded with relative links.
    pages:
        (file name, caption) of the interactive HTML pages, linked.
    """
    q = metrics["quality"]
    cmp_ = metrics["comparison"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>FIFA 19 player report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%;"
        "border:1px solid #ddd;margin:0.5em 0}.key{font-size:1.1em;background:#f7f7fb;padding:0.8em;"
        "border-left:4px solid #4c72b0}</style></head><body>",
        "<h1>FIFA 19 player report</h1>",
        f"<p>Input: <code>{html.escape(str(metrics['input']))}</code></p>",
        "<h2>Data</h2>",
        _table([
            {"k": "rows read", "v": f"{q['rows_read']:,}"},
            {"k": "players kept", "v": f"{q['rows_kept']:,}"},
            {"k": "rows dropped (key value bad or missing, malformed line)", "v": f"{q['rows_dropped']:,}"},
            {"k": "values rejected (see the rejects table)", "v": f"{q['values_rejected']:,}"},
            {"k": "nations / clubs", "v": f"{metrics['nations']:,} / {metrics['clubs']:,}"},
        ], [("k", "what"), ("v", "count")]),
        "<h2>The seed observation</h2>",
        f"<p class='key'>{html.escape(cmp_['sentence'])}</p>",
    ]
    if cmp_.get("comparisons"):
        ref = cmp_["reference"]
        rows = [{"nation": cmp_["reference_nation"] + " (reference)", "players": ref["players"], "mean": ref["mean"],
                 "median": ref["median"], "share": 100 * ref["share_high"]}]
        rows += [{"nation": c["nation"], "players": c["players"], "mean": c["mean_overall"], "median": c["median_overall"],
                  "share": 100 * c["share_high"], "p": c["p_value"], "prob": 100 * c["prob_reference_higher"]}
                 for c in cmp_["comparisons"]]
        parts.append(_table(rows, [("nation", "nation"), ("players", "players"), ("mean", "mean Overall"),
                                   ("median", "median"), ("share", f"% rated {cmp_['high_rating']}+"),
                                   ("p", "Mann-Whitney p"), ("prob", "% reference rated higher")],
                            {"mean": ".2f", "median": "g", "share": ".1f", "p": ".2e", "prob": ".1f", "players": ","}))
    parts.append(f"<h2>Nations with at least {metrics['config']['min_nation_players']} players (best mean first)</h2>")
    parts.append(_table(metrics["by_nation_top"], [
        ("nationality", "nation"), ("players", "players"), ("mean_overall", "mean"), ("median_overall", "median"),
        ("p90_overall", "p90"), ("max_overall", "max")],
        {"mean_overall": ".2f", "median_overall": "g", "p90_overall": "g", "players": ","}))
    parts.append("<h2>Richest squads</h2>")
    parts.append(_table(metrics["by_club_top"], [
        ("club", "club"), ("players", "players"), ("mean_overall", "mean Overall"),
        ("squad_value_eur", "squad value €"), ("wage_bill_eur", "wage bill € / week")],
        {"mean_overall": ".1f", "squad_value_eur": ",", "wage_bill_eur": ","}))
    parts.append("<h2>Position groups</h2>")
    parts.append(_table(metrics["by_position_group"], [
        ("position_group", "group"), ("players", "players"), ("mean_overall", "mean Overall"),
        ("mean_value_eur", "mean value €"), ("mean_wage_eur", "mean wage €"), ("mean_height_cm", "height cm")],
        {"mean_overall": ".1f", "mean_value_eur": ",.0f", "mean_wage_eur": ",.0f", "mean_height_cm": ".1f", "players": ","}))
    parts.append(f"<h2>Biggest Potential - Overall gaps, age {metrics['config']['young_max_age']} or younger</h2>")
    parts.append(_table(metrics["potential_gaps"][:10], [
        ("name", "player"), ("age", "age"), ("nationality", "nation"), ("club", "club"), ("overall", "Overall"),
        ("potential", "Potential"), ("gap", "gap")]))
    corr = metrics["value_vs_overall"]
    foot = metrics["preferred_foot"].get("ALL", {})
    parts.append("<h2>More figures</h2><ul>"
                 f"<li>Pearson r of Overall with log10(value): {corr.get('pearson_log10_value') or float('nan'):.3f}</li>"
                 f"<li>Left-footed players: {100 * foot.get('Left', 0.0):.1f}%</li>"
                 f"<li>Strongest skill correlation: {html.escape(_pair(metrics['skill_correlation_top']))} "
                 f"(over {metrics.get('skill_correlation_players', 0):,} players; "
                 f"{metrics.get('skill_correlation_excluded', 0):,} left out with a skill missing)</li>"
                 f"<li>Players valued €0 (not drawn on the log-scale value scatter): "
                 f"{metrics.get('value_zero_players', 0):,}; without a value: {metrics.get('value_missing_players', 0):,}</li>"
                 "</ul>")
    parts.append("<h2>Interactive pages (work offline)</h2><ul>")
    parts += [f"<li><a href='{html.escape(name)}'>{html.escape(caption)}</a></li>" for name, caption in pages]
    parts.append("</ul><h2>Figures</h2>")
    for name, caption in images:
        parts.append(f"<h3>{html.escape(caption)}</h3><img src='{html.escape(name)}' alt='{html.escape(caption)}'>")
    parts.append("<p>Every number above is in <code>metrics.json</code>; the tables are Parquet folders beside this page.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _pair(top: list[dict[str, Any]]) -> str:
    if not top:
        return "n/a"
    t = top[0]
    return f"{t['a']} ~ {t['b']}: r = {t['r']:.3f}"
