"""Build the graph templates shipped in src/esrerank/models/graph_templates (see
esrerank.models.templates):
the default bi-encoder and the bundled reranker exported with torch, their weights taken out.
Run again when the export changes (esrerank.models.export.EXPORT_VERSION).

    python scripts/build_graph_templates.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from esrerank.models.export import export_with_torch
from esrerank.models.hub import DEFAULT_BI_ENCODER, OFFLINE_CROSS_ENCODER, resolve_model
from esrerank.models.templates import save_template, template_folder

MODELS = {
    "minilm-l6-h384-bi-encoder": (DEFAULT_BI_ENCODER, "bi-encoder"),
    "minilm-l6-h384-cross-encoder": (OFFLINE_CROSS_ENCODER, "cross-encoder"),
}


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "src" / "esrerank" / "graph_templates"
    out.mkdir(exist_ok=True)
    assert out == template_folder().resolve(), "run from an editable install of this checkout"
    for stem, (name, role) in MODELS.items():
        location = Path(resolve_model(name, role))
        with tempfile.TemporaryDirectory() as folder:
            fields = export_with_torch(str(location), role, Path(folder))
            taken, kept = save_template(
                Path(folder) / "model.onnx", location, role, fields, out / stem
            )
        size = (out / f"{stem}.onnx").stat().st_size
        print(f"{stem}: {name}, {taken} weights taken out, {kept} kept, graph {size:,} bytes")


if __name__ == "__main__":
    main()
