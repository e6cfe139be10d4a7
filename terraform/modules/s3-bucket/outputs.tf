output "id" {
  description = "Name of the bucket."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "arn" {
  description = "ARN of the bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}
