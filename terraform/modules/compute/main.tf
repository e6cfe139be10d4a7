# The EMR cluster that runs `spark-submit jobs/text_pipeline.py` as a step. Its nodes live in a
# private subnet; their role may read the raw and artifacts buckets, write the lake and the logs,
# use the data key, and read the one database secret, nothing else. The step hands the job the
# secret's ARN; the job fetches the password itself (lakeprep.db.secrets).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_prefix_list" "s3" {
  name = "com.amazonaws.${data.aws_region.current.region}.s3"
}

locals {
  create    = var.create
  partition = data.aws_partition.current.partition
  # EMR's v2 service policy acts only on resources carrying this tag.
  emr_tag = { "for-use-with-amazon-emr-managed-policies" = "true" }
  tags    = merge(var.tags, local.emr_tag, { "lakeprep:module" = "compute" })

  artifacts  = "s3://${var.artifacts_bucket}/${var.artifacts_prefix}"
  env_python = "/opt/lakeprep/venv/bin/python"
  bucket_arn = { for k, b in {
    raw       = var.raw_bucket
    lake      = var.lake_bucket
    artifacts = var.artifacts_bucket
    logs      = var.logs_bucket
  } : k => "arn:${local.partition}:s3:::${b}" }

  # The step: cluster deploy mode, so the driver runs in YARN on a core node. The code, the job
  # file and conf/ come from the staged artifacts with every step; conf.zip unpacks as ./conf,
  # so --config conf/emr.yaml (which extends conf/local.yaml) resolves as in the checkout.
  # Database location travels as PG* variables of the driver, the credentials as the ARN only.
  step_args = concat(
    [
      "spark-submit", "--deploy-mode", "cluster",
      "--name", "lakeprep-text-pipeline",
      "--jars", join(",", [for j in var.jars : "${local.artifacts}/jars/${j}"]),
      "--py-files", "${local.artifacts}/lakeprep.zip",
      "--archives", "${local.artifacts}/conf.zip#conf",
      "--conf", "spark.pyspark.python=${local.env_python}",
      "--conf", "spark.yarn.appMasterEnv.PGHOST=${var.db_host}",
      "--conf", "spark.yarn.appMasterEnv.PGPORT=${var.db_port}",
      "--conf", "spark.yarn.appMasterEnv.PGDATABASE=${var.db_name}",
      "--conf", "spark.yarn.appMasterEnv.AWS_REGION=${data.aws_region.current.region}",
    ],
    var.spark_submit_args,
    [
      "${local.artifacts}/text_pipeline.py",
      "--input", "s3://${var.raw_bucket}/${var.input_prefix}",
      "--lake", "s3://${var.lake_bucket}/${var.lake_prefix}",
      "--config", "conf/emr.yaml",
      "--db-secret-arn", var.db_secret_arn,
    ],
  )
}

################################################################################
# IAM: the EMR service role and the nodes' instance profile
################################################################################

data "aws_iam_policy_document" "service_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "service" {
  count = local.create ? 1 : 0

  name               = "${var.name}-emr-service"
  assume_role_policy = data.aws_iam_policy_document.service_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "service" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.service[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

# The v2 managed policy leaves passing the instance role to the customer: only this one role.
data "aws_iam_policy_document" "service_pass_role" {
  count = local.create ? 1 : 0

  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.instance[0].arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "service_pass_role" {
  count = local.create ? 1 : 0

  name   = "pass-instance-role"
  role   = aws_iam_role.service[0].id
  policy = data.aws_iam_policy_document.service_pass_role[0].json
}

data "aws_iam_policy_document" "instance_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  count = local.create ? 1 : 0

  name               = "${var.name}-emr-instance"
  assume_role_policy = data.aws_iam_policy_document.instance_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ListTheBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = values(local.bucket_arn)
  }
  statement {
    sid       = "ReadInputsAndArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn.raw}/*", "${local.bucket_arn.artifacts}/*"]
  }
  # The Delta lake: MERGE rewrites files, VACUUM deletes them, _delta_log gains commits.
  statement {
    sid       = "ReadWriteTheLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn.lake}/*"]
  }
  statement {
    sid       = "WriteClusterLogs"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn.logs}/emr/*"]
  }
  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ReadTheDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_secret_arn]
  }
  dynamic "statement" {
    for_each = var.db_secret_kms_key_arn == null ? [] : [var.db_secret_kms_key_arn]
    content {
      sid       = "DecryptTheDatabaseSecret"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "instance" {
  count = local.create ? 1 : 0

  name   = "lakeprep-data-access"
  role   = aws_iam_role.instance[0].id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "this" {
  count = local.create ? 1 : 0

  name = "${var.name}-emr-instance"
  role = aws_iam_role.instance[0].name
  tags = local.tags
}

################################################################################
# Security groups (EMR adds the rules between its own groups at launch)
################################################################################

resource "aws_security_group" "primary" {
  count = local.create ? 1 : 0

  name        = "${var.name}-emr-primary"
  description = "EMR primary node (rules between cluster groups are managed by EMR)"
  vpc_id      = var.vpc_id
  # EMR adds cross-references between its groups; without this they could not be deleted.
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, { Name = "${var.name}-emr-primary" })
}

resource "aws_security_group" "core" {
  count = local.create ? 1 : 0

  name                   = "${var.name}-emr-core"
  description            = "EMR core nodes (rules between cluster groups are managed by EMR)"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, { Name = "${var.name}-emr-core" })
}

resource "aws_security_group" "service_access" {
  count = local.create ? 1 : 0

  name                   = "${var.name}-emr-service-access"
  description            = "EMR service access from the control plane in a private subnet"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, { Name = "${var.name}-emr-service-access" })
}

# Documented requirement for private subnets: the primary node reaches EMR's service access
# group on 9443, and the service reaches the nodes on 8443.
resource "aws_vpc_security_group_ingress_rule" "service_access_from_primary" {
  count = local.create ? 1 : 0

  security_group_id            = aws_security_group.service_access[0].id
  description                  = "EMR service access from the primary node"
  referenced_security_group_id = aws_security_group.primary[0].id
  ip_protocol                  = "tcp"
  from_port                    = 9443
  to_port                      = 9443
}

resource "aws_vpc_security_group_egress_rule" "service_access_to_nodes" {
  for_each = local.create ? { primary = aws_security_group.primary[0].id, core = aws_security_group.core[0].id } : {}

  security_group_id            = aws_security_group.service_access[0].id
  description                  = "EMR service access to the ${each.key} node group"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 8443
  to_port                      = 8443
}

# Nodes talk to each other, the database and the interface endpoints inside the VPC, and to S3
# through its gateway endpoint; nothing else is reachable.
resource "aws_vpc_security_group_egress_rule" "nodes_to_vpc" {
  for_each = local.create ? { primary = aws_security_group.primary[0].id, core = aws_security_group.core[0].id } : {}

  security_group_id = each.value
  description       = "Inside the VPC: cluster traffic, PostgreSQL, VPC endpoints"
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "-1"
}

resource "aws_vpc_security_group_egress_rule" "nodes_to_s3" {
  for_each = local.create ? { primary = aws_security_group.primary[0].id, core = aws_security_group.core[0].id } : {}

  security_group_id = each.value
  description       = "HTTPS to S3 through the gateway endpoint"
  prefix_list_id    = data.aws_prefix_list.s3.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

################################################################################
# Encryption, bootstrap, cluster, step, scaling
################################################################################

# Two variants, one created: at rest only, or also in transit when a certificate bundle is given.
# (Written out rather than merged, so the configuration stays a plain literal that reviewers and
# checkov can read.)
resource "aws_emr_security_configuration" "at_rest" {
  count = local.create && var.in_transit_tls_certificates_s3_uri == null ? 1 : 0

  name = "${var.name}-emr"
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption    = true
      EnableInTransitEncryption = false
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
    # IMDSv2 only: a request forged through a node's HTTP client cannot read role credentials.
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 2
    }
  })
}

resource "aws_emr_security_configuration" "at_rest_and_in_transit" {
  count = local.create && var.in_transit_tls_certificates_s3_uri != null ? 1 : 0

  name = "${var.name}-emr-tls"
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption    = true
      EnableInTransitEncryption = true
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = var.in_transit_tls_certificates_s3_uri
        }
      }
    }
    # IMDSv2 only: a request forged through a node's HTTP client cannot read role credentials.
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 2
    }
  })
}

locals {
  security_configuration = one(concat(aws_emr_security_configuration.at_rest[*].name,
  aws_emr_security_configuration.at_rest_and_in_transit[*].name))
}

resource "aws_s3_object" "bootstrap" {
  count = local.create ? 1 : 0

  bucket     = var.artifacts_bucket
  key        = "${var.artifacts_prefix}/bootstrap/install_python_env.sh"
  source     = "${path.module}/files/install_python_env.sh"
  etag       = filemd5("${path.module}/files/install_python_env.sh")
  kms_key_id = var.kms_key_arn
  tags       = local.tags
}

resource "aws_emr_cluster" "this" {
  count = local.create ? 1 : 0

  name                   = var.name
  release_label          = var.release_label
  applications           = ["Hadoop", "Spark"]
  service_role           = aws_iam_role.service[0].arn
  security_configuration = local.security_configuration
  log_uri                = "s3://${var.logs_bucket}/emr/"
  termination_protection = var.termination_protection
  # Stays up between steps so a rerun does not pay the bootstrap again; the idle timeout below
  # ends it when nobody uses it.
  keep_job_flow_alive_when_no_steps = true
  step_concurrency_level            = 1

  ec2_attributes {
    subnet_id                         = var.subnet_id
    instance_profile                  = aws_iam_instance_profile.this[0].arn
    emr_managed_master_security_group = aws_security_group.primary[0].id
    emr_managed_slave_security_group  = aws_security_group.core[0].id
    service_access_security_group     = aws_security_group.service_access[0].id
  }

  master_instance_group {
    instance_type = var.primary_instance_type
  }

  core_instance_group {
    instance_type  = var.core_instance_type
    instance_count = var.core_instance_count
    ebs_config {
      size                 = var.core_ebs_size_gb
      type                 = "gp3"
      volumes_per_instance = 1
    }
  }

  bootstrap_action {
    name = "lakeprep-python-env"
    path = "s3://${var.artifacts_bucket}/${aws_s3_object.bootstrap[0].key}"
    args = [local.artifacts]
  }

  dynamic "auto_termination_policy" {
    for_each = var.idle_timeout_seconds > 0 ? [var.idle_timeout_seconds] : []
    content {
      idle_timeout = auto_termination_policy.value
    }
  }

  # Spark's own defaults for Python: every Python process uses the bootstrap's environment, and
  # Arrow-based UDFs find pyarrow there.
  configurations_json = jsonencode([
    {
      Classification = "spark-defaults"
      Properties = {
        "spark.pyspark.python"        = local.env_python
        "spark.pyspark.driver.python" = local.env_python
      }
    },
  ])

  dynamic "step" {
    for_each = var.run_step_on_create ? [1] : []
    content {
      name              = "lakeprep text pipeline"
      action_on_failure = var.step_action_on_failure
      hadoop_jar_step {
        jar  = "command-runner.jar"
        args = local.step_args
      }
    }
  }

  tags = local.tags

  lifecycle {
    # Later steps are added with `aws emr add-steps`; they must not make Terraform replace the
    # cluster.
    ignore_changes = [step]
  }

  depends_on = [aws_iam_role_policy.instance, aws_iam_role_policy_attachment.service]
}

resource "aws_emr_managed_scaling_policy" "this" {
  count = local.create && var.managed_scaling != null ? 1 : 0

  cluster_id = aws_emr_cluster.this[0].id
  compute_limits {
    unit_type                       = "Instances"
    minimum_capacity_units          = var.managed_scaling.minimum_capacity_units
    maximum_capacity_units          = var.managed_scaling.maximum_capacity_units
    maximum_core_capacity_units     = var.managed_scaling.maximum_core_capacity_units
    maximum_ondemand_capacity_units = var.managed_scaling.maximum_ondemand_capacity_units
  }
}
