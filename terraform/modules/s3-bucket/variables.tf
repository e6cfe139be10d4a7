variable "create" {
  description = "Whether to create the bucket."
  type        = bool
  default     = true
}

variable "bucket" {
  description = "Bucket name (global across AWS)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting every object by default (SSE-KMS with an S3 Bucket Key)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's S3 server access logs (under s3-access/<bucket>/)."
  type        = string
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the bucket with every object version in it."
  type        = bool
  default     = false
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads are removed."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
}
