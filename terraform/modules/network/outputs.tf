output "vpc_id" {
  description = "ID of the VPC (null when create = false)."
  value       = try(aws_vpc.this[0].id, null)
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = try(aws_vpc.this[0].cidr_block, null)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in the order of var.azs."
  value       = aws_subnet.private[*].id
}

output "private_route_table_id" {
  description = "ID of the private route table (the S3 gateway endpoint is attached to it)."
  value       = try(aws_route_table.private[0].id, null)
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}

output "interface_endpoint_ids" {
  description = "IDs of the interface endpoints, by service name."
  value       = { for k, v in aws_vpc_endpoint.interface : k => v.id }
}
