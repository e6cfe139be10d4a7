# The serving database: RDS PostgreSQL in private subnets, reachable only from the EMR cluster's
# security groups. RDS generates the master password and keeps (and rotates) it in Secrets
# Manager; Terraform only hands the secret's ARN to the EMR step, and the job reads the password
# at run time (lakeprep.db.secrets).

locals {
  create = var.create
  tags   = merge(var.tags, { "lakeprep:module" = "database" })
  port   = 5432
}

resource "aws_db_subnet_group" "this" {
  count = local.create ? 1 : 0

  name       = "${var.name}-db"
  subnet_ids = var.subnet_ids
  tags       = local.tags
}

resource "aws_security_group" "this" {
  count = local.create ? 1 : 0

  name        = "${var.name}-db"
  description = "PostgreSQL, from the EMR cluster only"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-db" })
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  count = local.create ? length(var.allowed_security_group_ids) : 0

  security_group_id            = aws_security_group.this[0].id
  description                  = "PostgreSQL from an EMR node group"
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_db_parameter_group" "this" {
  count = local.create ? 1 : 0

  # A prefix, not a name: with create_before_destroy the replacement must not clash.
  name_prefix = "${var.name}-"
  family      = var.parameter_group_family
  description = "lakeprep PostgreSQL: TLS required, slow statements and connections logged"

  # Clients must use TLS; psycopg2 and the JDBC driver negotiate it by default.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_statement_ms)
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_disconnections"
    value = "1"
  }
  # DDL only: logging every statement would log the loaded text itself.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume[0].json
  tags               = local.tags
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  count = local.create ? 1 : 0

  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.database_name
  port           = local.port

  username                      = var.master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.master_user_secret_kms_key_id
  # IAM authentication is available for human access; the job uses the managed secret.
  iam_database_authentication_enabled = true

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [aws_security_group.this[0].id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this[0].name

  backup_retention_period   = var.backup_retention_days
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : "${var.name}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  monitoring_interval             = var.monitoring_interval
  monitoring_role_arn             = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  performance_insights_enabled    = true
  performance_insights_kms_key_id = var.kms_key_arn

  tags = local.tags
}
