"""Command-line tools around the pipeline (``python -m lakeprep.tools.<name>``)."""
