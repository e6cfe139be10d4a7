output "bucket_names" {
  description = "Bucket names by role: raw, lake, artifacts, logs."
  value = {
    raw       = module.raw.id
    lake      = module.lake.id
    artifacts = module.artifacts.id
    logs      = try(aws_s3_bucket.logs[0].id, null)
  }
}

output "bucket_arns" {
  description = "Bucket ARNs by role: raw, lake, artifacts, logs."
  value = {
    raw       = module.raw.arn
    lake      = module.lake.arn
    artifacts = module.artifacts.arn
    logs      = try(aws_s3_bucket.logs[0].arn, null)
  }
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the raw, lake and artifacts buckets (also EMR's disks and RDS storage in envs/dev)."
  value       = try(aws_kms_key.this[0].arn, null)
}
