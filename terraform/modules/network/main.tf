# Private-only network for the pipeline: the EMR nodes and the database have no route to the
# internet. AWS APIs are reached through VPC endpoints (S3 through a free gateway endpoint, the
# rest through interface endpoints), and the bootstrap installs Python wheels staged in S3, so no
# NAT gateway (and no public subnet) is needed.

data "aws_region" "current" {}

locals {
  create = var.create
  tags   = merge(var.tags, { "lakeprep:module" = "network" })
}

resource "aws_vpc" "this" {
  count = local.create ? 1 : 0

  cidr_block = var.cidr
  # Interface endpoints with private DNS need both, so SDK calls resolve to the endpoints.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = var.name })
}

# Takes over the VPC's default security group and leaves it without rules, so nothing that is
# launched without an explicit group gets network access by accident.
resource "aws_default_security_group" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${var.name}-default-closed" })
}

resource "aws_flow_log" "this" {
  count = local.create && var.enable_flow_logs ? 1 : 0

  vpc_id               = aws_vpc.this[0].id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = "${var.flow_log_bucket_arn}/vpc-flow-logs/"
  tags                 = local.tags
}

resource "aws_subnet" "private" {
  count = local.create ? length(var.azs) : 0

  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = var.azs[count.index]
  cidr_block              = var.private_subnet_cidrs[count.index]
  map_public_ip_on_launch = false

  # EMR's v2 service policy launches instances only into subnets carrying this tag.
  tags = merge(local.tags, {
    Name                                       = "${var.name}-private-${var.azs[count.index]}"
    "for-use-with-amazon-emr-managed-policies" = "true"
  })
}

resource "aws_route_table" "private" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = local.create ? length(var.azs) : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# Gateway endpoint: S3 traffic (data, logs, artifacts, the AL2023 package repositories the
# bootstrap installs Python from) stays on the AWS network and costs nothing per GB.
resource "aws_vpc_endpoint" "s3" {
  count = local.create ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]

  tags = merge(local.tags, { Name = "${var.name}-s3" })
}

resource "aws_security_group" "endpoints" {
  count = local.create ? 1 : 0

  name        = "${var.name}-vpc-endpoints"
  description = "HTTPS from inside the VPC to the interface VPC endpoints"
  vpc_id      = aws_vpc.this[0].id

  tags = merge(local.tags, { Name = "${var.name}-vpc-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  count = local.create ? 1 : 0

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS to AWS APIs from the VPC"
  cidr_ipv4         = var.cidr
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.create ? toset(var.interface_endpoints) : toset([])

  vpc_id              = aws_vpc.this[0].id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = merge(local.tags, { Name = "${var.name}-${each.value}" })
}
