# One hardened data bucket, used by the storage module for the raw, lake and artifacts buckets:
# versioned, SSE-KMS, private (ACLs off, public access blocked), TLS-only, access-logged, with
# old versions and abandoned multipart uploads expiring.

locals {
  create = var.create
}

resource "aws_s3_bucket" "this" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; versioning covers deletes and bad runs, and raw inputs can be re-uploaded. Add it for production.
  #checkov:skip=CKV2_AWS_62:Nothing consumes event notifications: the EMR step is started by Terraform or the CLI, not by uploads.
  bucket        = var.bucket
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    # ACLs off: access is decided by policies alone.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # S3 Bucket Keys cut KMS requests (and their cost) by orders of magnitude for Spark's many
    # small reads and writes.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = local.create ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_log_bucket
  target_prefix = "s3-access/${var.bucket}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# A request over plain HTTP is denied whoever makes it.
data "aws_iam_policy_document" "tls_only" {
  count = local.create ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]
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
}

resource "aws_s3_bucket_policy" "this" {
  count = local.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.tls_only[0].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
