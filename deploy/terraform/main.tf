provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = merge(
    {
      Project   = "scale"
      ManagedBy = "terraform"
    },
    var.tags,
  )
}

################################################################################
# Availability zones: the first N of the region, in name order
################################################################################

data "aws_availability_zones" "available" {
  state = "available"

  # Regular zones only: no Local Zones or Wavelength Zones, which need an opt-in and lack most instance types.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }

  lifecycle {
    precondition {
      condition     = var.node_min_size_per_zone <= var.node_desired_size_per_zone && var.node_desired_size_per_zone <= var.node_max_size_per_zone
      error_message = "Per-zone node counts must satisfy node_min_size_per_zone <= node_desired_size_per_zone <= node_max_size_per_zone."
    }

    postcondition {
      condition     = length(self.names) >= var.availability_zone_count
      error_message = "availability_zone_count is larger than the number of available zones in this region."
    }
  }
}

locals {
  azs = slice(sort(data.aws_availability_zones.available.names), 0, var.availability_zone_count)

  # Zone i gets private subnet i (1/8 of the VPC: room for the VPC CNI's pod IPs) and public subnet 240 + i
  # (1/256 of the VPC, inside the top eighth that no private subnet uses: NAT gateways and load balancers only).
  private_subnet_cidrs = [for i, az in local.azs : cidrsubnet(var.vpc_cidr, 3, i)]
  public_subnet_cidrs  = [for i, az in local.azs : cidrsubnet(var.vpc_cidr, 8, 240 + i)]
}

################################################################################
# VPC: public and private subnets in every zone, a NAT gateway per zone
################################################################################

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "6.5.1"

  name = var.name
  cidr = var.vpc_cidr
  azs  = local.azs

  private_subnets = local.private_subnet_cidrs
  public_subnets  = local.public_subnet_cidrs

  # One NAT gateway per zone, each private subnet routed through its own zone's: losing a zone does not cut the
  # egress of the others. single_nat_gateway = true trades that for one gateway's cost.
  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway

  enable_dns_hostnames = true
  enable_dns_support   = true

  # Where the AWS Load Balancer Controller (and the in-tree service controller) put internet-facing and internal
  # load balancers.
  public_subnet_tags = {
    "kubernetes.io/role/elb" = 1
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = 1
  }

  tags = local.tags
}

################################################################################
# EKS: control plane in the private subnets, one managed node group per zone
################################################################################

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "21.25.1"

  name               = var.name
  kubernetes_version = var.kubernetes_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  endpoint_private_access      = true
  endpoint_public_access       = true
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  # The identity running Terraform becomes cluster admin through an EKS access entry.
  enable_cluster_creator_admin_permissions = true

  # The IAM OIDC provider that IRSA (the batch role and the EBS CSI driver's role, iam.tf) trusts.
  enable_irsa = true

  # Managed add-ons. The module no longer lets EKS install the self-managed CNI, so vpc-cni must exist before the
  # nodes or they never become Ready; coredns and the EBS CSI driver need nodes and are created after them.
  addons = {
    vpc-cni = {
      before_compute = true
      # Enforce Kubernetes NetworkPolicies (deploy/k8s/base/network-policies.yaml) with the CNI's eBPF agent.
      configuration_values = jsonencode({ enableNetworkPolicy = "true" })
    }
    eks-pod-identity-agent = {
      before_compute = true
    }
    kube-proxy = {}
    coredns    = {}
    aws-ebs-csi-driver = {
      service_account_role_arn = aws_iam_role.ebs_csi.arn
    }
    # VolumeSnapshots of EBS volumes: the optional daily PostgreSQL backups (deploy/k8s/components/backup).
    snapshot-controller = {}
  }

  # One node group per zone, each in that zone's private subnet only: a zone's capacity is its own node group, so
  # the cluster autoscaler scales zones independently and a zone outage takes out exactly one node group.
  eks_managed_node_groups = {
    for i, az in local.azs : az => {
      subnet_ids = [module.vpc.private_subnets[i]]

      ami_type       = var.node_ami_type
      instance_types = var.node_instance_types
      capacity_type  = "ON_DEMAND"

      min_size     = var.node_min_size_per_zone
      max_size     = var.node_max_size_per_zone
      desired_size = var.node_desired_size_per_zone

      labels = {
        "scale/zone"       = az
        "scale/node-group" = az
      }

      # The module's launch template ignores disk_size; the root volume is sized here.
      block_device_mappings = {
        xvda = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = var.node_disk_size_gib
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }
    }
  }

  tags = local.tags
}
