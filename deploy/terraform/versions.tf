terraform {
  # The eks (v21) and vpc (v6) modules need Terraform >= 1.5.7; 1.6 is the floor this configuration is tested for.
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # eks 21.x and vpc 6.x are written for the AWS provider v6; 21.25 needs a recent 6.x.
      version = "~> 6.59"
    }
  }
}
