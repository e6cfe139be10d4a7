variable "create" {
  description = "Whether to create the buckets and their key."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of the buckets: <name>-raw, <name>-lake, <name>-artifacts, <name>-logs. Bucket names are global, so include something unique (account ID, company)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "Lower-case letters, digits and hyphens, 3 to 42 characters (the longest suffix, -artifacts, must still fit S3's 63)."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (all object versions). Keep false outside throw-away environments: it deletes the lake."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days after which objects in the logs bucket (EMR logs, S3 access logs, VPC flow logs) expire."
  type        = number
  default     = 90
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept in the versioned buckets before it expires (the window to recover from a bad run or a mistaken delete)."
  type        = number
  default     = 30
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads (interrupted uploads, crashed writers) are removed; they are billed but invisible."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
