# The pipeline's buckets: raw (inputs as uploaded), lake (Delta tables and run reports),
# artifacts (the package, job, config, jars and wheels the EMR step and bootstrap read) and logs
# (EMR logs, S3 access logs, VPC flow logs). Every bucket is versioned, private, TLS-only and
# encrypted; the data buckets (../s3-bucket) with a customer-managed KMS key that the cluster
# role is granted, the logs bucket with SSE-S3 (see below).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create = var.create
  tags   = merge(var.tags, { "lakeprep:module" = "storage" })
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = "${var.name}: S3 data, EMR at-rest encryption, RDS storage"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  count = local.create ? 1 : 0

  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.this[0].key_id
}

# Key policy: the account administers the key; use is granted through IAM policies (the cluster
# role's), which the account-root statement enables.
data "aws_iam_policy_document" "kms" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV_AWS_109:In a key policy, Resource "*" means this key only; the account must be able to administer its own key.
  #checkov:skip=CKV_AWS_111:Same: write actions on "*" in a key policy are scoped to the key itself.
  #checkov:skip=CKV_AWS_356:Same: "*" is the only valid Resource in a KMS key policy.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

module "raw" {
  source = "../s3-bucket"

  create                            = local.create
  bucket                            = "${var.name}-raw"
  kms_key_arn                       = try(aws_kms_key.this[0].arn, "")
  access_log_bucket                 = try(aws_s3_bucket.logs[0].id, "")
  force_destroy                     = var.force_destroy
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  abort_incomplete_multipart_days   = var.abort_incomplete_multipart_days
  tags                              = merge(local.tags, { "lakeprep:bucket" = "raw" })
}

module "lake" {
  source = "../s3-bucket"

  create                            = local.create
  bucket                            = "${var.name}-lake"
  kms_key_arn                       = try(aws_kms_key.this[0].arn, "")
  access_log_bucket                 = try(aws_s3_bucket.logs[0].id, "")
  force_destroy                     = var.force_destroy
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  abort_incomplete_multipart_days   = var.abort_incomplete_multipart_days
  tags                              = merge(local.tags, { "lakeprep:bucket" = "lake" })
}

module "artifacts" {
  source = "../s3-bucket"

  create                            = local.create
  bucket                            = "${var.name}-artifacts"
  kms_key_arn                       = try(aws_kms_key.this[0].arn, "")
  access_log_bucket                 = try(aws_s3_bucket.logs[0].id, "")
  force_destroy                     = var.force_destroy
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  abort_incomplete_multipart_days   = var.abort_incomplete_multipart_days
  tags                              = merge(local.tags, { "lakeprep:bucket" = "artifacts" })
}

################################################################################
# Logs bucket
################################################################################

resource "aws_s3_bucket" "logs" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV_AWS_144:Logs expire after var.log_retention_days; replicating them is not worth the cost.
  #checkov:skip=CKV2_AWS_62:Nothing consumes event notifications on logs.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery supports only SSE-S3 (AES256) on the target bucket, not SSE-KMS.
  bucket        = "${var.name}-logs"
  force_destroy = var.force_destroy

  tags = merge(local.tags, { Name = "${var.name}-logs", "lakeprep:bucket" = "logs" })
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count = local.create ? 1 : 0

  bucket                  = aws_s3_bucket.logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    # Versioning only guards against tampering; a replaced log version is not worth keeping.
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

# TLS only, plus the AWS log delivery services (S3 access logs, VPC flow logs) writing under
# their own prefixes for this account only.
data "aws_iam_policy_document" "logs" {
  count = local.create ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs[0].arn, "${aws_s3_bucket.logs[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs[0].arn}/s3-access/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "VpcFlowLogsWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs[0].arn}/vpc-flow-logs/*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "VpcFlowLogsAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.logs[0].arn]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  policy = data.aws_iam_policy_document.logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
