output "address" {
  description = "Host name of the instance (the job's PGHOST)."
  value       = try(aws_db_instance.this[0].address, null)
}

output "port" {
  description = "PostgreSQL port (the job's PGPORT)."
  value       = try(aws_db_instance.this[0].port, null)
}

output "database_name" {
  description = "Database the job loads into (the job's PGDATABASE)."
  value       = try(aws_db_instance.this[0].db_name, null)
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master username and password. Only this ARN is passed to the job."
  value       = try(aws_db_instance.this[0].master_user_secret[0].secret_arn, null)
}

output "master_user_secret_kms_key_id" {
  description = "KMS key of the master secret (the reader needs kms:Decrypt on it when it is a customer-managed key)."
  value       = try(aws_db_instance.this[0].master_user_secret[0].kms_key_id, null)
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = try(aws_security_group.this[0].id, null)
}
