"""Airflow DAG `lakeprep_clinical_trials`: jobs/clinical_trials.py once a day (lakeprep_dag_factory).

Independent of the text DAG (different source, different tables), but scheduled three hours
later, at 05:00 UTC, so the two Spark jobs do not compete for the same machine or cluster in the
usual case. ClinicalTrials.gov posts updates daily; the job fetches incrementally since its last
successful run. Deadline (the SLA): 3 h after the scheduled time.
"""
from datetime import timedelta

from lakeprep_dag_factory import build_dag

dag = build_dag(
    "clinical_trials",
    schedule="0 5 * * *",
    deadline=timedelta(hours=3),
    # An incremental run takes minutes; a first full fetch of the registry is the long case.
    execution_timeout=timedelta(hours=2),
    description="ClinicalTrials.gov API v2 -> Delta -> PostgreSQL -> dbt marts -> outcome model",
)
