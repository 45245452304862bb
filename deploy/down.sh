#!/usr/bin/env bash
# Removes what deploy/up.sh made, in reverse order:
#   --env eks    Scale's namespace (web, PostgreSQL and its volumes, Jobs) and the load balancers -> the charts ->
#                terraform destroy (EKS, VPC, the corpus bucket with its contents, the IRSA role, ECR)
#   --env local  Scale's namespace and cluster-wide objects, then the charts, on the current kind/minikube cluster
#                (the cluster itself stays: kind delete cluster / minikube delete)
# Usage: deploy/down.sh --env eks|local [--dry-run] [--yes] [--region R] [--name N]
#   --dry-run   print every step without doing it
#   --yes       do not ask for confirmation (needed without a terminal: the database and the corpus are deleted)
set -euo pipefail
script_name="deploy/down.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

env=""
yes=false
region="${AWS_REGION:-eu-west-1}"
name="scale"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) env="${2:-}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --yes) yes=true; shift ;;
    --region) region="${2:-}"; shift 2 ;;
    --name) name="${2:-}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done
require_env "$env"

$dry_run && say "Dry run: nothing below is done."
say "Removing Scale from $env"

step "Check prerequisites"
if [[ "$env" == eks ]]; then
  require_tools aws terraform kubectl helm
else
  require_tools kubectl helm
  require_local_context
fi

if ! $dry_run && ! $yes; then
  if [[ -t 0 ]]; then
    what="the scale, monitoring and cnpg-system namespaces (the database with its volumes)"
    [[ "$env" == eks ]] && what="$what, the EKS cluster, its VPC and the corpus bucket with everything in it"
    read -r -p "This deletes $what. Type 'yes' to go on: " answer
    [[ "$answer" == yes ]] || fail "stopped; nothing was deleted"
  else
    fail "no terminal to confirm on: pass --yes to delete the deployment (its database and, on eks, the corpus bucket)"
  fi
fi

cluster_reachable=true
if [[ "$env" == eks ]]; then
  step "kubeconfig (from the Terraform state)"
  if $dry_run; then
    run aws eks update-kubeconfig --region "<region>" --name "<cluster_name>"
  elif cluster_name="$(terraform -chdir="$terraform_dir" output -raw cluster_name 2>/dev/null)" && [[ -n "$cluster_name" ]]; then
    region="$(terraform -chdir="$terraform_dir" output -raw region)"
    run aws eks update-kubeconfig --region "$region" --name "$cluster_name"
  else
    say "  no cluster in the Terraform state: skipping the Kubernetes steps"
    cluster_reachable=false
  fi
fi

if $cluster_reachable; then
  step "Scale: the public load balancer first (AWS must delete it before the VPC can go), then the namespace"
  run kubectl -n scale delete service scale-web-public --ignore-not-found --wait=true
  run kubectl delete namespace scale --ignore-not-found --wait=true --timeout=15m
  run kubectl delete clusterrolebinding,clusterrole -l app.kubernetes.io/part-of=scale --ignore-not-found
  run kubectl delete storageclass scale-gp3 --ignore-not-found

  step "kube-prometheus-stack and CloudNativePG (their load balancer and volumes with them)"
  run helm uninstall kube-prometheus-stack --namespace monitoring --ignore-not-found --wait
  run kubectl delete namespace monitoring --ignore-not-found --wait=true --timeout=10m
  run helm uninstall cnpg --namespace cnpg-system --ignore-not-found --wait
  run kubectl delete namespace cnpg-system --ignore-not-found --wait=true --timeout=10m
fi

if [[ "$env" == eks ]]; then
  step "AWS: terraform destroy (EKS, node groups, VPC, corpus bucket and its objects, IRSA role, ECR)"
  run terraform -chdir="$terraform_dir" init -input=false
  # force_destroy must be in the state before destroy empties the bucket: apply it first, then destroy.
  run terraform -chdir="$terraform_dir" apply -input=false -auto-approve -var "region=$region" -var "name=$name" -var force_destroy_bucket=true
  run terraform -chdir="$terraform_dir" destroy -input=false -auto-approve -var "region=$region" -var "name=$name" -var force_destroy_bucket=true
fi

$dry_run || rm -rf "$deploy_dir/.generated/$env"
step "Done: nothing of Scale's is left on $env"
