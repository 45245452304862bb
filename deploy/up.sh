#!/usr/bin/env bash
# Deploys everything Scale needs, idempotently (run it again to update; it redoes only what is needed):
#   --env eks    terraform apply (VPC over 3 zones, EKS, S3 corpus bucket, IRSA role, ECR) -> kubeconfig -> image
#                build and push -> CloudNativePG and kube-prometheus-stack (pinned charts) -> the Scale overlay
#                (web, PostgreSQL, monitoring, kube-monkey) -> optional corpus upload -> the batch Jobs, waited
#                for -> the app and Grafana URLs
#   --env local  the same on the current kind or minikube cluster, without AWS; the corpus is synthetic
# Usage: deploy/up.sh --env eks|local [options]
#   --dry-run            print every step without doing it (writes only the rendered manifests in deploy/.generated)
#   --image REPO:TAG     use this image instead of building one (needed without Docker)
#   --corpus DIR         (eks) upload this folder (e.g. lmd_full/) to the corpus bucket before extracting
#   --corpus-prefix P    (eks) where the corpus is in the bucket (default: lmd_full)
#   --region R           (eks) AWS region (default: eu-west-1, or AWS_REGION)
#   --name N             (eks) name of the cluster and everything around it (default: scale)
#   --backups            (eks) daily EBS snapshots of PostgreSQL (deploy/k8s/components/backup)
#   --skip-batch         deploy without running the batch Jobs
#   --job-timeout S      seconds to wait for each batch Job (default: 21600)
set -euo pipefail
script_name="deploy/up.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

env=""
image=""
corpus=""
corpus_prefix="lmd_full"
region="${AWS_REGION:-eu-west-1}"
name="scale"
skip_batch=false
backups=false
job_timeout=21600

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) env="${2:-}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --image) image="${2:-}"; shift 2 ;;
    --corpus) corpus="${2:-}"; shift 2 ;;
    --corpus-prefix) corpus_prefix="${2:-}"; shift 2 ;;
    --region) region="${2:-}"; shift 2 ;;
    --name) name="${2:-}"; shift 2 ;;
    --skip-batch) skip_batch=true; shift ;;
    --backups) backups=true; shift ;;
    --job-timeout) job_timeout="${2:-}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done
require_env "$env"
if [[ -n "$image" && "$image" != *:* ]]; then fail "--image must name a tag (REPO:TAG), got '$image'"; fi
if [[ -n "$image" && "$image" == *:latest ]]; then fail "--image must be pinned to a version, not ':latest'"; fi
if [[ -n "$corpus" && "$env" != eks ]]; then fail "--corpus is for --env eks (the local corpus is synthetic)"; fi
if $backups && [[ "$env" != eks ]]; then fail "--backups is for --env eks (EBS volume snapshots)"; fi
if [[ -n "$corpus" && ! -d "$corpus" ]] && ! $dry_run; then fail "--corpus '$corpus' is not a folder"; fi
[[ "$job_timeout" =~ ^[0-9]+$ ]] || fail "--job-timeout must be a number of seconds, got '$job_timeout'"

commit="$(git -C "$repo_root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
$dry_run && say "Dry run: nothing below is done."
say "Deploying Scale ($commit) to $env"

step "Check prerequisites"
if [[ "$env" == eks ]]; then
  tools=(aws terraform kubectl helm)
  [[ -n "$image" ]] || tools+=(docker)
  require_tools "${tools[@]}"
  if ! $dry_run; then
    aws sts get-caller-identity --query Arn --output text >/dev/null 2>&1 ||
      fail "the AWS CLI has no working credentials: aws configure (or AWS_PROFILE=...), then aws sts get-caller-identity"
  fi
else
  tools=(kubectl helm)
  [[ -n "$image" ]] || tools+=(docker)
  require_tools "${tools[@]}"
  require_local_context
fi

if [[ "$env" == eks ]]; then
  step "AWS: VPC over 3 zones, EKS with a node group per zone, S3 corpus bucket, IRSA role, ECR (terraform apply)"
  run terraform -chdir="$terraform_dir" init -input=false
  run terraform -chdir="$terraform_dir" apply -input=false -auto-approve -var "region=$region" -var "name=$name"
  cluster_name="$(terraform_output cluster_name)"
  bucket="$(terraform_output corpus_bucket)"
  role_arn="$(terraform_output batch_role_arn)"
  repository="$(terraform_output image_repository)"
  region="$(terraform_output region)"

  step "kubeconfig for cluster $cluster_name"
  run aws eks update-kubeconfig --region "$region" --name "$cluster_name"
else
  bucket=""
  role_arn=""
  repository="scale"
fi

step "Image"
if [[ -n "$image" ]]; then
  image_name="${image%:*}"
  image_tag="${image##*:}"
  say "  using $image"
elif [[ "$env" == eks ]]; then
  image_name="$repository"
  image_tag="$commit"
  if $dry_run; then
    say "  would run: aws ecr get-login-password --region $region | docker login --username AWS --password-stdin ${repository%%/*}"
  else
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "${repository%%/*}"
  fi
  run "$deploy_dir/image/build.sh" --image "$image_name" --tag "$image_tag" --push
else
  image_name="scale"
  image_tag="local-$commit"
  run "$deploy_dir/image/build.sh" --image "$image_name" --tag "$image_tag" --platforms linux/amd64 --load
  if [[ "$(kubectl config current-context 2>/dev/null || true)" == minikube ]]; then
    run minikube image load "$image_name:$image_tag"
  else
    context="$(kubectl config current-context 2>/dev/null || echo kind-kind)"
    run kind load docker-image "$image_name:$image_tag" --name "${context#kind-}"
  fi
fi

step "CloudNativePG operator (chart $CNPG_CHART $CNPG_CHART_VERSION)"
run helm repo add cnpg "$CNPG_CHART_REPO" --force-update
run helm upgrade --install cnpg "cnpg/$CNPG_CHART" --version "$CNPG_CHART_VERSION" \
  --namespace cnpg-system --create-namespace -f "$deploy_dir/k8s/helm/cloudnative-pg.values.yaml" --wait --timeout 10m

step "kube-prometheus-stack (chart $PROMETHEUS_CHART $PROMETHEUS_CHART_VERSION) with a generated Grafana admin password"
if $dry_run; then
  say "  would create namespace monitoring, unless it exists"
else
  kubectl create namespace monitoring --dry-run=client -o yaml | kubectl apply -f - >/dev/null
fi
if $dry_run; then
  say "  would create secret monitoring/grafana-admin with a random password, unless it exists"
elif ! kubectl -n monitoring get secret grafana-admin >/dev/null 2>&1; then
  # 32 random bytes; never printed, never written to disk.
  kubectl -n monitoring create secret generic grafana-admin --from-literal=admin-user=admin \
    --from-literal="admin-password=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')" >/dev/null
  say "  created secret monitoring/grafana-admin"
else
  say "  secret monitoring/grafana-admin exists: kept"
fi
prometheus_values=(-f "$deploy_dir/k8s/helm/kube-prometheus-stack.values.yaml")
[[ "$env" == eks ]] && prometheus_values+=(-f "$deploy_dir/k8s/helm/kube-prometheus-stack.eks.values.yaml")
run helm repo add prometheus-community "$PROMETHEUS_CHART_REPO" --force-update
run helm upgrade --install kube-prometheus-stack "prometheus-community/$PROMETHEUS_CHART" --version "$PROMETHEUS_CHART_VERSION" \
  --namespace monitoring "${prometheus_values[@]}" --wait --timeout 15m

step "Scale: web, PostgreSQL (3 instances), monitoring objects, kube-monkey, network policies (overlay $env)"
source_url=""
[[ "$env" == eks ]] && source_url="s3://$bucket/$corpus_prefix"
app_overlay="$env"
$backups && app_overlay="eks-backup"
write_generated_kustomizations "$env" "$app_overlay" "$image_name" "$image_tag" "$source_url" "$region" "$role_arn"
run kubectl apply --server-side -f "$deploy_dir/.generated/$env/app.yaml"
run kubectl -n scale wait cluster/scale-db --for=condition=Ready --timeout=20m
run kubectl -n scale rollout status deployment/scale-web --timeout=10m

if [[ -n "$corpus" ]]; then
  step "Upload the corpus $corpus to $source_url"
  run aws s3 sync "$corpus" "$source_url" --only-show-errors --region "$region"
fi

if $skip_batch; then
  step "Batch Jobs: skipped (--skip-batch)"
else
  step "Batch: migrate the schema, extract every shard, compute similar songs"
  # The service account and settings first (everything in the batch manifests but the Jobs), then one Job at a time.
  run kubectl apply --server-side -f "$deploy_dir/.generated/$env/batch.yaml" -l 'app.kubernetes.io/component!=batch'
  run_job "$env" scale-db-migrate 900
  run_job "$env" scale-extract "$job_timeout"
  run_job "$env" scale-similar 7200
fi

step "Done"
if [[ "$env" == eks ]]; then
  say "  app:     http://$(load_balancer_address scale scale-web-public)/"
  say "  grafana: http://$(load_balancer_address monitoring kube-prometheus-stack-grafana)/ (user admin; password: kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d)"
else
  say "  app:     kubectl -n scale port-forward svc/scale-web 8080:80, then http://127.0.0.1:8080/"
  say "  grafana: kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80, then http://127.0.0.1:3000/ (user admin; password: kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d)"
fi
say "  undo:    deploy/down.sh --env $env"
