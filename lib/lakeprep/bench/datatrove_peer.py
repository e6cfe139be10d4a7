"""The peer pipeline, run by the benchmark venv's Python (datatrove is not a lakeprep dependency).

Usage: python datatrove_peer.py CORPUS_DIR OUT_DIR TASKS WORKERS
Equivalent filters to the text job's document rules: Gopher repetition + Gopher quality, then
the PII formatter (e-mail / IP replacement), writing the kept documents as JSONL. Deliberately
no tokenization, Delta or database: the peer does less work than our job, never more.
"""
import sys

from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers import JsonlWriter


class TextFileReader(BaseDiskReader):
    """One .txt file = one document, like the text job's directory input."""
    name = "txt files"

    def read_file(self, filepath: str):
        with self.data_folder.open(filepath, "r", encoding="utf-8", errors="replace") as fh:
            with self.track_time():
                text = fh.read()
        yield Document(text=text, id=filepath, metadata={})


def main() -> None:
    corpus, out, tasks, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    LocalPipelineExecutor(
        pipeline=[
            TextFileReader(corpus, glob_pattern="*.txt"),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            PIIFormatter(),
            JsonlWriter(f"{out}/kept"),
        ],
        tasks=tasks, workers=workers, logging_dir=f"{out}/logs", skip_completed=False,
    ).run()


if __name__ == "__main__":
    main()
