"""PostgreSQL side of the pipeline (embedded local server)."""
