# The image registry deploy/up.sh pushes Scale's image to (tagged with the commit). Tags are immutable: a tag names
# one build for good. Images can always be rebuilt from the repository, so `terraform destroy` deletes them too.
resource "aws_ecr_repository" "scale" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = true

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = var.tags
}

# Keep the last 30 images; older ones are not running anywhere after a few deploys.
resource "aws_ecr_lifecycle_policy" "scale" {
  repository = aws_ecr_repository.scale.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 30 images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 30
      }
      action = { type = "expire" }
    }]
  })
}
