"""Text pipeline: ingest, decode, clean, filter, chunk and load raw documents."""
