"""``report.html``: the findings, recommended process changes and models of a scale-defects run.

Everything shown comes from the run's metrics; nothing in the text is fixed in advance.
"""

from __future__ import annotations

import html
import math
from typing import Any

FIGURES = (
    ("rate_by_category.png", "Defect rate by category"),
    ("binned_rates.png", "Defect rate over temperature and time bins"),
    ("distributions_by_status.png", "Distributions by defect status"),
    ("correlation_heatmap.png", "Correlations"),
    ("feature_importance.png", "Feature importance"),
    ("roc_curves.png", "ROC curves on the test plates"),
    ("decision_tree.png", "Decision tree (cross-validated depth)"),
)

CSS = """
body{font-family:'NanumGothic','Noto Sans KR',sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right}.muted{color:#777}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
ol li{margin-bottom:.4em}
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return "&ndash;" if v is None or math.isnan(v) else "&infin;"
    return fmt.format(v)


def _p(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "&ndash;"
    return "&lt;0.001" if v < 0.001 else f"{v:.3f}"


def render_report(m: dict[str, Any], figures: tuple[tuple[str, str], ...] = FIGURES) -> str:
    """The HTML report of a run from its metrics dict (figures are linked by file name)."""
    rows = m["rows"]
    rate = m["defect_rate"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Scale-defect causes</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Causes of steel-plate scale defects</h1>",
        f"<p>Input <code>{_e(m['input']['path'])}</code> ({m['input']['files']} file(s), encoding {_e(m['input']['encoding'])}, "
        f"variant {_e(m['input']['variant'])}): {rows['read']:,} rows read, {rows['valid']:,} plates analysed, "
        f"{rows['rejected']:,} rejected.</p>",
        f"<p><b>Defect rate {rate['rate']:.1%}</b> ({rate['defects']:,} of {rate['plates']:,} plates; "
        f"95% Wilson interval {rate['ci_low']:.1%} to {rate['ci_high']:.1%}).</p>",
    ]
    if rows["reject_reasons"]:
        parts.append("<p class='muted'>Rejected rows by reason: " + ", ".join(
            f"{_e(k)} ({v})" for k, v in rows["reject_reasons"].items()) + " &mdash; see the <code>rejects</code> table.</p>")

    parts.append("<h2>Recommended process changes</h2>")
    if m["recommendations"]:
        parts.append("<ol>" + "".join(f"<li>{_e(r)}</li>" for r in m["recommendations"]) + "</ol>")
    else:
        parts.append("<p>No finding was both significant and strong enough to recommend a change.</p>")
    parts.append("<p class='muted'>Derived from the ranked findings below: significant after Holm adjustment and "
                 "with a bias-corrected Cramér's V of at least the configured minimum. Associations in production data "
                 "are not proof of cause; confirm a change with a trial.</p>")

    parts.append("<h2>Ranked findings</h2><table><tr><th>#</th><th>column</th><th>Cramér's V</th>"
                 "<th>p (Holm)</th><th>finding</th></tr>")
    for f in m["findings"]:
        style = "" if f["significant"] else " class='muted'"
        dup = f" <span class='muted'>(same as {_e(f['duplicate_of'])})</span>" if f.get("duplicate_of") else ""
        parts.append(f"<tr{style}><td>{f['rank']}</td><td>{_e(f['column'])}</td><td class='num'>{_num(f['cramers_v'])}</td>"
                     f"<td class='num'>{_p(f['p_adjusted'])}</td><td>{_e(f['text'])}{dup}</td></tr>")
    parts.append("</table>")

    models = m.get("models", {})
    logit = m.get("logit", {})
    parts.append("<h2>Models (test plates)</h2><table><tr><th>model</th><th>depth (CV)</th><th>AUC</th>"
                 "<th>accuracy</th><th>precision</th><th>recall</th><th>F1</th><th>confusion (tn, fp, fn, tp)</th></tr>")
    rows_m = ([("logit", "&ndash;", logit["test"])] if "test" in logit else []) + \
        [(k, str(v["best_max_depth"]), v["test"]) for k, v in models.items()]
    for name, depth, t in rows_m:
        c = t["confusion"]
        parts.append(f"<tr><td>{_e(name)}</td><td>{depth}</td><td class='num'>{_num(t['auc'])}</td>"
                     f"<td class='num'>{_num(t['accuracy'])}</td><td class='num'>{_num(t['precision'])}</td>"
                     f"<td class='num'>{_num(t['recall'])}</td><td class='num'>{_num(t['f1'])}</td>"
                     f"<td>{c['true_negative']}, {c['false_positive']}, {c['false_negative']}, {c['true_positive']}</td></tr>")
    parts.append("</table>")
    split = m.get("split")
    if split:
        parts.append(f"<p class='muted'>Train {split['train']:,} plates, test {split['test']:,} ({_e(split['method'])}).</p>")

    parts.append("<h2>Logistic regression</h2>")
    if logit.get("status") == "fitted":
        parts.append(f"<p>Fitted on {logit['n']:,} training plates (sample of at most the configured rows); "
                     f"McFadden pseudo R&sup2; {logit['pseudo_r2_mcfadden']:.3f}, LLR p {_p(logit['llr_p_value'])}"
                     f"{'' if logit['converged'] else ' (did not converge)'}.</p>")
        parts.append("<table><tr><th>term</th><th>coefficient</th><th>std. err.</th><th>p</th><th>odds ratio</th>"
                     "<th>95% CI</th><th>OR per SD</th></tr>")
        for r in logit["coefficients"]:
            parts.append(f"<tr><td>{_e(r['term'])}</td><td class='num'>{_num(r['coef'], '{:.4g}')}</td>"
                         f"<td class='num'>{_num(r['std_err'], '{:.3g}')}</td><td class='num'>{_p(r['p_value'])}</td>"
                         f"<td class='num'>{_num(r['odds_ratio'], '{:.4g}')}</td>"
                         f"<td class='num'>{_num(r['or_ci_low'], '{:.3g}')} &ndash; {_num(r['or_ci_high'], '{:.3g}')}</td>"
                         f"<td class='num'>{_num(r['odds_ratio_per_sd'], '{:.3g}')}</td></tr>")
        parts.append("</table>")
    else:
        parts.append(f"<p>Not fitted ({_e(logit.get('status', 'n/a'))}).</p>")
    if logit.get("notes"):
        parts.append("<ul class='muted'>" + "".join(f"<li>{_e(n)}</li>" for n in logit["notes"]) + "</ul>")

    parts.append("<h2>Figures</h2>")
    tree = m.get("tree", {})
    for name, title in figures:
        parts.append(f"<h3>{_e(title)}</h3><img src='{_e(name)}' alt='{_e(title)}'>")
    if tree.get("dot_written") and not tree.get("png_rendered"):
        parts.append(f"<p class='muted'>Decision tree PNG not rendered ({_e(tree.get('png_skipped_reason', ''))}); "
                     "see decision_tree.dot.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
