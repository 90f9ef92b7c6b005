"""A pyspark.ml decision tree as Graphviz DOT (written here, from the tree's node API) and PNG.

The tree is read node by node through the JVM model's ``rootNode`` (split feature, threshold or
left categories, class counts), turned into plain dicts, and only then into DOT, so the DOT writer
is a pure function that is tested without Spark.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Any

log = logging.getLogger(__name__)


def tree_to_dict(model: Any) -> dict[str, Any]:
    """The tree of a fitted ``DecisionTreeClassificationModel`` as nested dicts.

    Internal node: ``{"feature", "threshold" | "categories", "left", "right", "counts"}``;
    leaf: ``{"counts", "prediction"}``. ``counts`` are the training plates per class.
    """
    return _node(model._java_obj.rootNode())


def _node(j: Any) -> dict[str, Any]:
    counts = [float(v) for v in j.impurityStats().stats()]
    out: dict[str, Any] = {"counts": counts, "prediction": float(j.prediction()), "impurity": float(j.impurity())}
    if j.getClass().getSimpleName() != "InternalNode":
        return out
    split = j.split()
    out["feature"] = int(split.featureIndex())
    if split.getClass().getSimpleName() == "ContinuousSplit":
        out["threshold"] = float(split.threshold())
    else:
        out["categories"] = [int(c) for c in split.leftCategories()]
    out["left"] = _node(j.leftChild())
    out["right"] = _node(j.rightChild())
    return out


def tree_to_dot(tree: dict[str, Any], feature_names: list[str], category_labels: dict[str, list[str]],
                class_names: tuple[str, str] = ("good", "defect"), font: str = "NanumGothic") -> str:
    """Graphviz DOT text of a tree dict: each node shows its test, plates and defect rate.

    Nodes are shaded from white (no defects) to red (all defective); the left edge is the test
    being true, as in Spark (``x <= threshold`` or ``x in {categories}``).
    """
    lines = [
        "digraph tree {",
        f'  graph [rankdir=TB, fontname="{font}"];',
        f'  node [shape=box, style="rounded,filled", fontname="{font}", fontsize=10];',
        f'  edge [fontname="{font}", fontsize=9];',
    ]
    counter = [0]

    def visit(node: dict[str, Any]) -> int:
        me = counter[0]
        counter[0] += 1
        counts = node["counts"]
        total = sum(counts)
        rate = counts[1] / total if total and len(counts) > 1 else 0.0
        body = [f"plates = {total:.0f}", f"defect rate = {rate:.1%}"]
        if "feature" in node:
            name = feature_names[node["feature"]]
            if "threshold" in node:
                test = f"{name} <= {node['threshold']:g}"
            else:
                labels = category_labels.get(name, [])
                cats = [labels[c] if c < len(labels) else f"#{c}" for c in node["categories"]]
                shown = cats if len(cats) <= 6 else cats[:6] + [f"... {len(cats) - 6} more"]
                test = f"{name} in {{{', '.join(shown)}}}"
            body.insert(0, test)
        else:
            body.append(f"class = {class_names[1] if node['prediction'] >= 0.5 else class_names[0]}")
        label = "\\n".join(_escape(b) for b in body)
        lines.append(f'  n{me} [label="{label}", fillcolor="{_shade(rate)}"];')
        if "feature" in node:
            left = visit(node["left"])
            lines.append(f'  n{me} -> n{left} [label="yes"];')
            right = visit(node["right"])
            lines.append(f'  n{me} -> n{right} [label="no"];')
        return me

    visit(tree)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _shade(rate: float) -> str:
    """White for 0% defects to a strong red for 100%."""
    r = max(0.0, min(1.0, rate))
    g = int(round(255 - 175 * r))
    return f"#ff{g:02x}{g:02x}"


def dot_binary() -> str | None:
    """Path of Graphviz's ``dot`` program, or ``None`` when it is not installed."""
    return shutil.which("dot")


def render_png(dot_text: str, png_path: str, timeout_s: int = 120) -> None:
    """Render DOT text to a PNG file with ``dot -Tpng``.

    Raises
    ------
    FileNotFoundError
        ``dot`` is not installed.
    RuntimeError
        ``dot`` failed (its error message is included).
    """
    exe = dot_binary()
    if exe is None:
        raise FileNotFoundError("dot")
    src = png_path + ".dot"
    with open(src, "w", encoding="utf-8") as fh:
        fh.write(dot_text)
    try:
        proc = subprocess.run([exe, "-Tpng", "-Gdpi=110", src, "-o", png_path], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    finally:
        os.remove(src)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.strip()[:300]}")
