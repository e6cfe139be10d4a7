variable "create" {
  description = "Whether to create the database (false: point the job at an existing PostgreSQL with PGHOST and a secret ARN)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Identifier prefix of the DB instance, its subnet group, parameter group and security group."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (two or more availability zones)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the PostgreSQL port: the EMR cluster's node groups. Nothing else is."
  type        = list(string)
  default     = []
}

variable "engine_version" {
  description = "PostgreSQL engine version (major.minor; minor upgrades are applied in the maintenance window)."
  type        = string
  default     = "17.6"
}

variable "parameter_group_family" {
  description = "Parameter group family matching the engine's major version."
  type        = string
  default     = "postgres17"
}

variable "instance_class" {
  description = "DB instance class. db.t4g.medium (2 vCPU, 4 GiB) holds a dev corpus; the loads are batched JDBC inserts, size up for large corpora."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB (0 disables autoscaling)."
  type        = number
  default     = 200
}

variable "database_name" {
  description = "Name of the database created in the instance (the job's PGDATABASE)."
  type        = string
  default     = "lakeprep"
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; it is never set or seen by Terraform."
  type        = string
  default     = "lakeprep_admin"
}

variable "master_user_secret_kms_key_id" {
  description = "KMS key encrypting the RDS-managed master secret (null = the account's aws/secretsmanager key)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key encrypting storage, snapshots and Performance Insights (null = the account's aws/rds key)."
  type        = string
  default     = null
}

variable "multi_az" {
  description = "Standby in a second availability zone (failover in about a minute). Doubles the instance cost."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is set to false and applied."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a final snapshot. Keep false unless the data is disposable."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7
}

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples (0, 1, 5, 10, 15, 30 or 60)."
  type        = number
  default     = 60
}

variable "log_min_duration_statement_ms" {
  description = "Statements slower than this many milliseconds are logged (the merge of a large load shows up here)."
  type        = number
  default     = 1000
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
