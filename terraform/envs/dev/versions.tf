terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }

  # Remote state: copy backend.tf.example to backend.tf (see terraform/README.md). Without it
  # the state is a local file, fine for one person trying the stack out.
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "lakeprep:environment" = var.environment
      "lakeprep:managed-by"  = "terraform"
    })
  }
}
