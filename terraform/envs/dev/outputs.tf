output "buckets" {
  description = "Bucket names by role (raw, lake, artifacts, logs)."
  value       = module.storage.bucket_names
}

output "artifacts_uri" {
  description = "Where terraform/scripts/stage_artifacts.sh uploads the package, job, conf, jars and wheels."
  value       = "s3://${module.storage.bucket_names["artifacts"]}/lakeprep"
}

output "input_uri" {
  description = "Where to upload the corpus (python -m lakeprep.tools.upload DIR <this>)."
  value       = "s3://${module.storage.bucket_names["raw"]}/${var.input_prefix}"
}

output "lake_uri" {
  description = "Delta lake root; run reports are under _reports/<run_id>/."
  value       = "s3://${module.storage.bucket_names["lake"]}/lake"
}

output "emr_cluster_id" {
  description = "EMR cluster ID."
  value       = module.compute.cluster_id
}

output "emr_step_json" {
  description = "The pipeline step for aws emr add-steps --steps file://step.json."
  value       = module.compute.step_cli_args
}

output "db_address" {
  description = "PostgreSQL host (private)."
  value       = module.database.address
}

output "db_secret_arn" {
  description = "ARN of the RDS-managed secret with the database username and password."
  value       = module.database.master_user_secret_arn
}
