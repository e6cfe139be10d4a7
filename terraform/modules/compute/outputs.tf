output "cluster_id" {
  description = "ID of the EMR cluster (j-...), for aws emr add-steps / describe-cluster."
  value       = try(aws_emr_cluster.this[0].id, null)
}

output "master_public_dns" {
  description = "Private DNS name of the primary node (reachable from inside the VPC or through SSM)."
  value       = try(aws_emr_cluster.this[0].master_public_dns, null)
}

output "node_security_group_ids" {
  description = "Security groups of the primary and core nodes (the database admits these)."
  # A list of known length even before apply: the database module counts its rules from it.
  value = local.create ? [aws_security_group.primary[0].id, aws_security_group.core[0].id] : []
}

output "instance_role_arn" {
  description = "ARN of the nodes' role (the identity that reads the data and the secret)."
  value       = try(aws_iam_role.instance[0].arn, null)
}

output "step_args" {
  description = "Arguments of the command-runner.jar step: spark-submit of the text pipeline with the secret's ARN (no password)."
  value       = local.step_args
}

output "step_cli_args" {
  description = "The step as JSON for `aws emr add-steps --cluster-id ID --steps file://step.json`."
  value = jsonencode([{
    Type            = "CUSTOM_JAR"
    Name            = "lakeprep text pipeline"
    ActionOnFailure = var.step_action_on_failure
    Jar             = "command-runner.jar"
    Args            = local.step_args
  }])
}
