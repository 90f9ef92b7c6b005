"""Every notebook in notebooks/ runs top to bottom on small generated data."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    import nbclient
    import nbformat

    monkeypatch.setenv("SPARKFOLIO_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("SPARKFOLIO_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    # The notebook wrote its outputs where it was told, not into the repository.
    assert any(tmp_path.iterdir()), f"{path.name} wrote nothing under SPARKFOLIO_NOTEBOOK_OUT"


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs")]
        assert with_outputs == [], f"{path.name}: clear the outputs of cells {with_outputs}"
