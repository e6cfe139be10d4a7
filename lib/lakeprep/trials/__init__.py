"""The clinical-trials job: ClinicalTrials.gov API v2 -> staged raw pages -> bronze -> silver
(with expectations) -> PostgreSQL -> dbt marts. ``pipeline.run_clinical_trials`` wires the steps;
``jobs/clinical_trials.py`` is the spark-submit entry point."""
