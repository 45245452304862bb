#!/usr/bin/env bash
# Builds Scale's image (the Dockerfile at the root) for linux/amd64 and linux/arm64 with docker buildx.
# Usage: deploy/image/build.sh [--image NAME] [--tag TAG] [--platforms LIST] [--push | --load] [--dry-run]
#   --image      repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/scale (default: scale; env SCALE_IMAGE)
#   --tag        default: the short commit, with -dirty when the work tree has changes
#   --platforms  default: linux/amd64,linux/arm64
#   --push       push to the registry (needed for several platforms); --load loads a single-platform build locally
#   --dry-run    print the command without running it
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="${SCALE_IMAGE:-scale}"
commit="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
tag="$commit"
if [[ "$commit" != unknown ]] && [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]]; then tag="$commit-dirty"; fi
platforms="linux/amd64,linux/arm64"
output=()
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) image="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --platforms) platforms="$2"; shift 2 ;;
    --push) output=(--push); shift ;;
    --load) output=(--load); shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ ${#output[@]} -gt 0 && "${output[0]}" == --load && "$platforms" == *,* ]]; then
  echo "build.sh: --load takes one platform (docker cannot load a multi-platform image); add --platforms linux/amd64 or use --push" >&2
  exit 2
fi

command=(docker buildx build --platform "$platforms" --build-arg "SCALE_COMMIT=$commit" --tag "$image:$tag" "${output[@]}" "$root")
if $dry_run; then
  printf '%q ' "${command[@]}"; echo
  exit 0
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "build.sh: docker is not installed (https://docs.docker.com/engine/install/); it needs the buildx plugin" >&2
  exit 1
fi
if ! docker buildx version >/dev/null 2>&1; then
  echo "build.sh: docker buildx is missing (install the docker-buildx-plugin package)" >&2
  exit 1
fi
"${command[@]}"
echo "built $image:$tag for $platforms"
