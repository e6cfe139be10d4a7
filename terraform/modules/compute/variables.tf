variable "create" {
  description = "Whether to create the EMR cluster, its roles, security groups and security configuration."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of the cluster, roles and security groups."
  type        = string
}

variable "release_label" {
  description = "EMR release; emr-spark-8.1.0 ships Spark 4.1.1, the version the package is pinned to (requirements.txt)."
  type        = string
  default     = "emr-spark-8.1.0"
}

variable "vpc_id" {
  description = "VPC of the cluster's security groups."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC: nodes may reach the database, the VPC endpoints and each other inside it, nothing outside but S3."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet the cluster runs in (one subnet: EMR instance groups live in one availability zone)."
  type        = string
}

variable "raw_bucket" {
  description = "Bucket holding the raw inputs (read only for the cluster)."
  type        = string
}

variable "lake_bucket" {
  description = "Bucket holding the Delta lake and run reports (read and write for the cluster)."
  type        = string
}

variable "artifacts_bucket" {
  description = "Bucket holding the package, job, configuration, jars and wheels (read only for the cluster)."
  type        = string
}

variable "logs_bucket" {
  description = "Bucket receiving the cluster's logs under emr/."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the data buckets, also used for EMR's S3 and local-disk encryption."
  type        = string
}

variable "artifacts_prefix" {
  description = "Key prefix of the staged artifacts in the artifacts bucket (terraform/scripts/stage_artifacts.sh uploads there)."
  type        = string
  default     = "lakeprep"
}

variable "input_prefix" {
  description = "Key prefix of the inputs in the raw bucket, passed to the job as --input s3://<raw>/<prefix>."
  type        = string
  default     = "raw"
}

variable "lake_prefix" {
  description = "Key prefix of the Delta lake in the lake bucket, passed to the job as --lake."
  type        = string
  default     = "lake"
}

variable "jars" {
  description = "Jar files (under <artifacts>/jars/) passed with --jars: Delta Lake, the PostgreSQL JDBC driver and the OpenLineage listener from scripts/jvm/pom.xml, without the S3A jars (EMRFS serves s3:// on EMR), and the project's own PostgreSQL COPY writer (scripts/jvm/src)."
  type        = list(string)
  default = [
    "checker-qual-3.55.1.jar",
    "delta-kernel-api-4.3.1.jar",
    "delta-kernel-defaults-4.3.1.jar",
    "delta-kernel-unitycatalog-4.3.1.jar",
    "delta-spark_4.1_2.13-4.3.1.jar",
    "delta-storage-4.3.1.jar",
    "jackson-datatype-jdk8-2.20.0.jar",
    "lakeprep-jvm.jar",
    "openlineage-spark_2.13-1.53.0.jar",
    "postgresql-42.7.14.jar",
    "unitycatalog-client-0.5.0.jar",
    "unitycatalog-hadoop-0.5.0.jar",
  ]
}

variable "db_secret_arn" {
  description = "ARN of the Secrets Manager secret with the database username and password. The cluster role may read this secret only; the step passes the ARN, never the password."
  type        = string
}

variable "db_secret_kms_key_arn" {
  description = "Customer-managed KMS key of the database secret, if any (null = the aws/secretsmanager key, which needs no grant)."
  type        = string
  default     = null
}

variable "db_host" {
  description = "Database host name, passed to the driver as PGHOST."
  type        = string
}

variable "db_port" {
  description = "Database port, passed to the driver as PGPORT."
  type        = number
  default     = 5432
}

variable "db_name" {
  description = "Database name, passed to the driver as PGDATABASE."
  type        = string
}

variable "primary_instance_type" {
  description = "Instance type of the primary node (YARN resource manager, HDFS name node; the driver runs on a core node in cluster mode, so it stays small)."
  type        = string
  default     = "m6i.xlarge"
}

variable "core_instance_type" {
  description = "Instance type of the core nodes, which run the executors (the text stages are CPU-bound Python UDFs). x86_64 only: pycld2 has no aarch64 wheel."
  type        = string
  default     = "m6i.2xlarge"
}

variable "core_instance_count" {
  description = "Core nodes at creation (managed scaling moves between the limits below)."
  type        = number
  default     = 2
}

variable "core_ebs_size_gb" {
  description = "gp3 volume per core node for Spark's shuffle and disk cache (the pipeline persists stages DISK_ONLY)."
  type        = number
  default     = 128
}

variable "managed_scaling" {
  description = "EMR managed scaling limits in instances; null disables managed scaling."
  type = object({
    minimum_capacity_units          = number
    maximum_capacity_units          = number
    maximum_core_capacity_units     = number
    maximum_ondemand_capacity_units = number
  })
  default = {
    minimum_capacity_units          = 2
    maximum_capacity_units          = 8
    maximum_core_capacity_units     = 8
    maximum_ondemand_capacity_units = 8
  }
}

variable "idle_timeout_seconds" {
  description = "Terminate the cluster after this many idle seconds (cost guard; 0 keeps it running)."
  type        = number
  default     = 3600
}

variable "termination_protection" {
  description = "Refuse to terminate the cluster until this is turned off."
  type        = bool
  default     = false
}

variable "run_step_on_create" {
  description = "Add the text pipeline step when the cluster is created (later runs: aws emr add-steps with the step_cli_args output)."
  type        = bool
  default     = true
}

variable "step_action_on_failure" {
  description = "What EMR does when the step fails: CONTINUE keeps the cluster for inspection (it still stops at the idle timeout), TERMINATE_CLUSTER stops paying at once."
  type        = string
  default     = "CONTINUE"

  validation {
    condition     = contains(["CONTINUE", "TERMINATE_CLUSTER", "CANCEL_AND_WAIT"], var.step_action_on_failure)
    error_message = "One of CONTINUE, TERMINATE_CLUSTER, CANCEL_AND_WAIT."
  }
}

variable "spark_submit_args" {
  description = "Extra spark-submit options placed before the job file (e.g. [\"--conf\", \"spark.executor.memory=12g\"])."
  type        = list(string)
  default     = []
}

variable "in_transit_tls_certificates_s3_uri" {
  description = "S3 URI of a zip with PEM certificates for EMR in-transit encryption (null = in-transit encryption off; the job's own connections to S3, Secrets Manager and RDS use TLS regardless)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
