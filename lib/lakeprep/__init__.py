"""Lakehouse preparation of text (and clinical-trial) data for machine learning on Spark."""
