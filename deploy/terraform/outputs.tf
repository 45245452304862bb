output "region" {
  description = "AWS region of the deployment."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = module.eks.cluster_endpoint
}

output "availability_zones" {
  description = "Availability zones in use, one managed node group and one NAT gateway (unless single_nat_gateway) each."
  value       = local.azs
}

output "node_groups" {
  description = "Managed node group of each availability zone: zone name => its node group ID (\"<cluster>:<node group>\") and Auto Scaling group names."
  value = {
    for az, group in module.eks.eks_managed_node_groups : az => {
      id                 = group.node_group_id
      autoscaling_groups = group.node_group_autoscaling_group_names
    }
  }
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "private_subnets" {
  description = "Private subnet IDs, in the order of availability_zones."
  value       = module.vpc.private_subnets
}

output "corpus_bucket" {
  description = "Name of the S3 bucket holding the MIDI corpus."
  value       = aws_s3_bucket.corpus.id
}

output "batch_role_arn" {
  description = "ARN of the IAM role the batch job's service account assumes (IRSA): annotate the service account with eks.amazonaws.com/role-arn = this."
  value       = aws_iam_role.batch.arn
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "image_repository" {
  description = "The ECR repository URL Scale's image is pushed to (deploy/up.sh tags it with the commit)."
  value       = aws_ecr_repository.scale.repository_url
}
