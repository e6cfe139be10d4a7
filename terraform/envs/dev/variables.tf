variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name, part of every resource name."
  type        = string
  default     = "dev"
}

variable "name_prefix" {
  description = "Prefix of every name; bucket names are global, so make it unique to you (e.g. lakeprep-acme)."
  type        = string
}

variable "azs" {
  description = "Availability zones (two or more; the cluster uses the first)."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b"]
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "private_subnet_cidrs" {
  description = "One private subnet CIDR per availability zone."
  type        = list(string)
  default     = ["10.40.0.0/20", "10.40.16.0/20"]
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets. True only for a throw-away environment."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days the logs bucket keeps EMR, access and flow logs."
  type        = number
  default     = 90
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_multi_az" {
  description = "RDS standby in a second zone (false halves the database cost of a dev stack)."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  description = "Protect the database from deletion; set false and apply before terraform destroy."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Destroy the database without a final snapshot."
  type        = bool
  default     = false
}

variable "emr_release_label" {
  description = "EMR release (emr-spark-8.1.0 = Spark 4.1.1, matching requirements.txt)."
  type        = string
  default     = "emr-spark-8.1.0"
}

variable "core_instance_type" {
  description = "Instance type of the core nodes (x86_64)."
  type        = string
  default     = "m6i.2xlarge"
}

variable "core_instance_count" {
  description = "Core nodes at creation."
  type        = number
  default     = 2
}

variable "max_core_instances" {
  description = "Upper limit of EMR managed scaling, in instances."
  type        = number
  default     = 8
}

variable "idle_timeout_seconds" {
  description = "Terminate the cluster after this long without steps (0 = never)."
  type        = number
  default     = 3600
}

variable "run_step_on_create" {
  description = "Run the pipeline step as soon as the cluster is up (stage the artifacts and inputs first)."
  type        = bool
  default     = true
}

variable "input_prefix" {
  description = "Prefix of the inputs in the raw bucket."
  type        = string
  default     = "raw"
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
