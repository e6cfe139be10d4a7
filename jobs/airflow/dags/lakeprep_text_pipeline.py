"""Airflow DAG `lakeprep_text_pipeline`: jobs/text_pipeline.py once a day (lakeprep_dag_factory).

02:00 UTC, ahead of the working day; a run processes only new and changed inputs, so a day's run
is short once the corpus is loaded. The deadline (the SLA) is 4 h after the scheduled time: the
README measures the 69 MB dev corpus at about 3 minutes on 2 cores, so 4 h means a stuck or
retried-out run.
"""
from datetime import timedelta

from lakeprep_dag_factory import build_dag

dag = build_dag(
    "text_pipeline",
    schedule="0 2 * * *",
    deadline=timedelta(hours=4),
    # One attempt may run 3 h (a full refresh of a large corpus); past that it is killed and
    # retried.
    execution_timeout=timedelta(hours=3),
    description="Raw text -> Delta bronze/silver -> <=512-token chunks in PostgreSQL",
)
