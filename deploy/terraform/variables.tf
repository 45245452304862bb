################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the deployment: the EKS cluster, the VPC and the prefix of every other resource name. At most 20 characters, so that the IAM role name prefixes derived from it stay within AWS limits."
  type        = string
  default     = "scale"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be 2-20 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Extra tags for every resource (merged over Project and ManagedBy)."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "availability_zone_count" {
  description = "How many availability zones to spread the VPC and the node groups over (the first N available zones of the region, in name order). At least 2 so that the loss of one zone leaves the others running."
  type        = number
  default     = 3

  validation {
    condition     = var.availability_zone_count >= 2 && var.availability_zone_count <= 6 && floor(var.availability_zone_count) == var.availability_zone_count
    error_message = "availability_zone_count must be a whole number from 2 to 6 (and no more than the region has; that is checked against the region at plan time)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC (/16 to /19). Each zone gets a private subnet of 1/8 of it and a public subnet of 1/256 of it, carved from the top eighth."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 19, false)
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix length from 16 to 19."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for the whole VPC instead of one per zone. Cheaper, but the loss of that zone cuts the egress (image pulls, S3 through the internet path, AWS APIs) of every zone."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public Kubernetes API endpoint. Restrict to your office or VPN ranges; the private endpoint is always on for the nodes."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && alltrue([for cidr in var.cluster_endpoint_public_access_cidrs : can(cidrnetmask(cidr))])
    error_message = "cluster_endpoint_public_access_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

################################################################################
# Cluster and nodes
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes <major>.<minor> version of the EKS control plane and the node groups."
  type        = string
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node groups (one node group per zone), in order of preference."
  type        = list(string)
  default     = ["m7i.large"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "node_instance_types must name at least one instance type."
  }
}

variable "node_ami_type" {
  description = "EKS AMI type of the nodes. Must match the architecture of node_instance_types (AL2023_ARM_64_STANDARD for Graviton)."
  type        = string
  default     = "AL2023_x86_64_STANDARD"
}

variable "node_disk_size_gib" {
  description = "Size in GiB of each node's root volume (gp3, encrypted): container images and emptyDir volumes."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_size_gib >= 20
    error_message = "node_disk_size_gib must be at least 20."
  }
}

variable "node_min_size_per_zone" {
  description = "Minimum number of nodes in each zone's node group."
  type        = number
  default     = 1

  validation {
    condition     = var.node_min_size_per_zone >= 0 && floor(var.node_min_size_per_zone) == var.node_min_size_per_zone
    error_message = "node_min_size_per_zone must be a whole number >= 0."
  }
}

variable "node_desired_size_per_zone" {
  description = "Number of nodes each zone's node group starts with (EKS ignores later changes made here once the cluster autoscaler owns the count)."
  type        = number
  default     = 1

  validation {
    condition     = var.node_desired_size_per_zone >= 0 && floor(var.node_desired_size_per_zone) == var.node_desired_size_per_zone
    error_message = "node_desired_size_per_zone must be a whole number >= 0."
  }
}

variable "node_max_size_per_zone" {
  description = "Maximum number of nodes in each zone's node group."
  type        = number
  default     = 3

  validation {
    condition     = var.node_max_size_per_zone >= 1 && floor(var.node_max_size_per_zone) == var.node_max_size_per_zone
    error_message = "node_max_size_per_zone must be a whole number >= 1."
  }
}

################################################################################
# Corpus bucket and the batch job's access to it
################################################################################

variable "corpus_bucket_name" {
  description = "Name of the S3 bucket holding the MIDI corpus. null derives \"<name>-corpus-<account id>\"."
  type        = string
  default     = null

  validation {
    condition     = var.corpus_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.corpus_bucket_name))
    error_message = "corpus_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots or hyphens) or null."
  }
}

variable "corpus_bucket_versioning" {
  description = "Turn on object versioning for the corpus bucket (recovers overwritten or deleted objects, costs storage for old versions)."
  type        = bool
  default     = false
}

variable "force_destroy_bucket" {
  description = "Let `terraform destroy` delete the corpus bucket with the objects (and versions) still in it. Off by default so that the corpus is not lost by accident; the teardown script sets it to true explicitly. The provider deletes with the value in the state, so apply it (terraform apply -target=aws_s3_bucket.corpus -var force_destroy_bucket=true) before destroy."
  type        = bool
  default     = false
}

variable "namespace" {
  description = "Kubernetes namespace the Scale workloads run in."
  type        = string
  default     = "scale"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label."
  }
}

variable "batch_service_account" {
  description = "Name of the Kubernetes service account of the batch job; only this service account in var.namespace can assume the batch IAM role."
  type        = string
  default     = "scale-batch"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.batch_service_account))
    error_message = "batch_service_account must be a DNS-1123 subdomain."
  }
}
