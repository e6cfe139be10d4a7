"""Lakehouse preparation of text (and clinical-trial) data for machine learning on Spark."""

# Kept in step with setup.py's version (tests/unit/test_config.py checks they agree).
__version__ = "0.1.0"
