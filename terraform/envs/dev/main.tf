# A complete environment: network -> storage -> database -> EMR cluster running the text
# pipeline step. Only the database secret's ARN crosses from the database to the step.

locals {
  name = "${var.name_prefix}-${var.environment}"
}

module "storage" {
  source = "../../modules/storage"

  name               = local.name
  force_destroy      = var.force_destroy_buckets
  log_retention_days = var.log_retention_days
}

module "network" {
  source = "../../modules/network"

  name                 = local.name
  cidr                 = var.vpc_cidr
  azs                  = var.azs
  private_subnet_cidrs = var.private_subnet_cidrs
  flow_log_bucket_arn  = module.storage.bucket_arns["logs"]
}

module "database" {
  source = "../../modules/database"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = module.compute.node_security_group_ids
  instance_class             = var.db_instance_class
  kms_key_arn                = module.storage.kms_key_arn
  multi_az                   = var.db_multi_az
  deletion_protection        = var.db_deletion_protection
  skip_final_snapshot        = var.db_skip_final_snapshot
}

module "compute" {
  source = "../../modules/compute"

  name          = local.name
  release_label = var.emr_release_label
  vpc_id        = module.network.vpc_id
  vpc_cidr      = module.network.vpc_cidr
  subnet_id     = module.network.private_subnet_ids[0]

  raw_bucket       = module.storage.bucket_names["raw"]
  lake_bucket      = module.storage.bucket_names["lake"]
  artifacts_bucket = module.storage.bucket_names["artifacts"]
  logs_bucket      = module.storage.bucket_names["logs"]
  kms_key_arn      = module.storage.kms_key_arn
  input_prefix     = var.input_prefix

  db_secret_arn = module.database.master_user_secret_arn
  db_host       = module.database.address
  db_port       = module.database.port
  db_name       = module.database.database_name

  core_instance_type  = var.core_instance_type
  core_instance_count = var.core_instance_count
  managed_scaling = {
    minimum_capacity_units          = var.core_instance_count
    maximum_capacity_units          = var.max_core_instances
    maximum_core_capacity_units     = var.max_core_instances
    maximum_ondemand_capacity_units = var.max_core_instances
  }
  idle_timeout_seconds = var.idle_timeout_seconds
  run_step_on_create   = var.run_step_on_create
}
