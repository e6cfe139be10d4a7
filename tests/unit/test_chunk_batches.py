"""Chunk output batches stay bounded whatever one document produces (no Spark needed: the
function is the mapInPandas body of transforms.chunk_documents)."""
import pandas as pd

from lakeprep.config import load_settings
from lakeprep.text.transforms import CHUNK_SCHEMA, chunk_batches, chunk_document

SETTINGS = load_settings()
PARAGRAPH = ("The harbour was quiet in the early morning, and the fishing boats rocked gently "
             "against the pier while gulls circled overhead looking for scraps number {}. ")


def docs(n_docs: int, paragraphs: int) -> pd.DataFrame:
    texts = ["\n\n".join(PARAGRAPH.format(f"{d}-{i}") * 3 for i in range(paragraphs))
             for d in range(n_docs)]
    return pd.DataFrame({"doc_id": [f"d{d}" for d in range(n_docs)],
                         "source_uri": [f"file:/d{d}.txt" for d in range(n_docs)],
                         "content_sha256": ["h"] * n_docs, "quality_score": [0.9] * n_docs,
                         "text": texts})


def test_one_long_document_is_cut_into_bounded_batches():
    batch = docs(1, 400)
    n_chunks = len(chunk_document("d0", batch["text"][0], SETTINGS))
    out = list(chunk_batches(iter([batch]), SETTINGS, max_rows=25))
    sizes = [len(b) for b in out]
    assert n_chunks > 50 and sum(sizes) == n_chunks
    assert max(sizes) == 25 and len(out) == -(-n_chunks // 25)
    assert list(out[0].columns) == CHUNK_SCHEMA.fieldNames()
    indexes = pd.concat(out)["chunk_index"].tolist()
    assert indexes == list(range(len(indexes)))  # nothing lost or repeated at the cuts


def test_rows_carry_over_between_input_batches():
    out = list(chunk_batches(iter([docs(2, 5), docs(3, 5)]), SETTINGS, max_rows=1000))
    assert len(out) == 1 and out[0]["doc_id"].nunique() == 3
