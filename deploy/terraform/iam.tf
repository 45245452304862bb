################################################################################
# IRSA: the batch job's role, read-only on the corpus bucket
################################################################################

data "aws_iam_policy_document" "batch_assume_role" {
  statement {
    sid     = "BatchServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    # Only this service account in this namespace, and only tokens minted for STS.
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.batch_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "batch" {
  name_prefix        = "${var.name}-batch-"
  description        = "Scale batch job (service account ${var.namespace}/${var.batch_service_account}): read the MIDI corpus bucket."
  assume_role_policy = data.aws_iam_policy_document.batch_assume_role.json
}

data "aws_iam_policy_document" "batch_corpus_read" {
  statement {
    sid       = "ListCorpus"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.corpus.arn]
  }

  statement {
    sid       = "ReadCorpusObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.corpus.arn}/*"]
  }
}

resource "aws_iam_role_policy" "batch_corpus_read" {
  name   = "corpus-read"
  role   = aws_iam_role.batch.id
  policy = data.aws_iam_policy_document.batch_corpus_read.json
}

################################################################################
# IRSA: the EBS CSI driver's controller (volumes for PostgreSQL)
################################################################################

data "aws_iam_policy_document" "ebs_csi_assume_role" {
  statement {
    sid     = "EbsCsiControllerServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:kube-system:ebs-csi-controller-sa"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ebs_csi" {
  name_prefix        = "${var.name}-ebs-csi-"
  description        = "EBS CSI driver controller of the ${var.name} EKS cluster."
  assume_role_policy = data.aws_iam_policy_document.ebs_csi_assume_role.json
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}
