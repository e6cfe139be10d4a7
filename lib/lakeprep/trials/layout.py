"""Where the clinical-trials job keeps things in the lake: one place for every path.

Used by the orchestrator (lakeprep.trials.pipeline) and by the steps it calls, so staging,
bronze, silver, quarantine and reports are named the same way in every environment
(``file:/...``, ``s3a://bucket/lake``).
"""
from __future__ import annotations

from dataclasses import dataclass

# Silver tables produced by lakeprep.trials.silver.build_silver (keys of SilverResult.tables).
SILVER_TABLES = ("studies", "conditions", "interventions", "sponsors", "sites", "design",
                 "eligibility", "condition_mesh", "intervention_mesh")


@dataclass(frozen=True)
class TrialsLayout:
    """``root`` is the lake URI; ``staging`` overrides where raw pages go (trials.staging.root,
    e.g. a separate bucket with a lifecycle rule), default ``<root>/_staging/ctgov``."""
    root: str
    staging: str = ""

    @property
    def bronze_studies(self) -> str:
        return f"{self.root}/bronze/ctgov_studies"

    @property
    def bronze_rejected(self) -> str:
        return f"{self.root}/bronze/ctgov_rejected_records"

    def silver(self, table: str) -> str:
        return f"{self.root}/silver/ctgov_{table}"

    @property
    def silver_quarantine(self) -> str:
        return f"{self.root}/silver/ctgov_quarantine"

    @property
    def staging_root(self) -> str:
        return (self.staging or f"{self.root}/_staging/ctgov").rstrip("/")

    def staging_dir(self, run_id: str) -> str:
        return f"{self.staging_root}/{run_id}"

    def work(self, run_id: str) -> str:
        """Intermediate files of one run (silver's materialized frames), removed when it ends."""
        return f"{self.root}/_work/ctgov/{run_id}"

    def report_dir(self, report_subdir: str, run_id: str) -> str:
        return f"{self.root}/{report_subdir}/ctgov/{run_id}"
