variable "create" {
  description = "Whether to create the network. False lets an environment bring an existing VPC and pass its subnet IDs to the other modules instead."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of every resource (e.g. lakeprep-dev)."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Availability zones of the private subnets, one subnet per zone. RDS needs at least two."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "At least two availability zones: an RDS subnet group spans two or more."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR block of each private subnet, in the order of var.azs."
  type        = list(string)
  default     = ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints, so the private subnets need no NAT gateway: EMR's control plane, Secrets Manager (the job's database secret), KMS (EMR's at-rest encryption), STS and CloudWatch Logs."
  type        = list(string)
  default     = ["elasticmapreduce", "secretsmanager", "kms", "sts", "logs"]
}

variable "enable_flow_logs" {
  description = "Record the VPC's traffic (accepted and rejected) as flow logs in flow_log_bucket_arn. A separate switch because the bucket ARN is only known after apply."
  type        = bool
  default     = true
}

variable "flow_log_bucket_arn" {
  description = "ARN of the S3 bucket receiving the VPC flow logs under vpc-flow-logs/ (the storage module's logs bucket)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
