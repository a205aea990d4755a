#!/usr/bin/env bash
# Builds the real etcd and kube-apiserver that the Kubernetes-mode tests start (docs/kubernetes.md),
# from the Go module proxy, once, and prints their paths on stdout:
#   etcd=<path>
#   kube-apiserver=<path>
#
# Nothing of Kubernetes or etcd is in the repository: this script writes a small wrapper module
# (go.mod + tools.go) per component under ${KUMA_K8S_CACHE:-~/.cache/kuma-cpp/k8s}/<name>-<version>/,
# resolves it with `go mod tidy` and builds the binary there. A binary already built for the same
# version is reused: a second call only checks that it exists. Modules and the Go build cache are
# shared with the other Go test tools (${KUMA_GO_CACHE:-~/.cache/kuma-cpp/go}).
#
# Go: $KUMA_GO, else `go` on the PATH, else /usr/local/go/bin/go (Go >= 1.26 for kube-apiserver 1.37).
# Build time on 2 cores, cold: kube-apiserver about 15 minutes, etcd about 3 minutes.
set -euo pipefail

# Pinned versions (docs/kubernetes.md says why these).
KUBE_VERSION="${KUMA_KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${KUMA_ETCD_VERSION:-v3.6.16}"

CACHE="${KUMA_K8S_CACHE:-$HOME/.cache/kuma-cpp/k8s}"
GO_CACHE="${KUMA_GO_CACHE:-$HOME/.cache/kuma-cpp/go}"

# shellcheck source=../go_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../go_env.sh"
kuma_go_env "k8s build" 1.26 "$GO_CACHE"

log() { printf '[k8s] %s\n' "$*" >&2; }

# The staging modules that k8s.io/kubernetes pins at v0.0.0 (its go.mod replaces them with its
# own staging/ directories, which a dependent module cannot use): each is published as
# k8s.io/<m> v0.<minor>.<patch>.
KUBE_STAGING=(
  api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
  kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver streaming
)

# build_one NAME DIR PACKAGE GO_MOD_BODY [LDFLAGS]: builds PACKAGE into DIR/NAME unless present.
build_one() {
  local name="$1" dir="$2" pkg="$3" body="$4" ldflags="${5:-}"
  if [ -x "$dir/$name" ]; then
    return
  fi
  log "$name: building into $dir (cold: minutes; log: $dir/build.log)"
  local src="$dir/src"
  rm -rf "$src"
  mkdir -p "$src"
  printf '%s\n' "$body" >"$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$src/tools.go"
  local start=$SECONDS
  (
    cd "$src"
    "$GO" mod tidy
    "$GO" build -ldflags "-s -w $ldflags" -o "$dir/.$name.tmp" "$pkg"
  ) >"$dir/build.log" 2>&1 || {
    log "$name: build failed, see $dir/build.log"
    tail -n 20 "$dir/build.log" >&2
    exit 1
  }
  mv -f "$dir/.$name.tmp" "$dir/$name"
  log "$name: built in $((SECONDS - start)) s"
}

etcd_dir="$CACHE/etcd-$ETCD_VERSION"
mkdir -p "$etcd_dir"
build_one etcd "$etcd_dir" go.etcd.io/etcd/server/v3 "module kuma-cpp.local/etcd-wrapper

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION"

kube_dir="$CACHE/kube-apiserver-$KUBE_VERSION"
mkdir -p "$kube_dir"
staging_version="v0.${KUBE_VERSION#v1.}"
kube_mod="module kuma-cpp.local/kube-apiserver-wrapper

go 1.26

require k8s.io/kubernetes $KUBE_VERSION
"
for m in "${KUBE_STAGING[@]}"; do
  kube_mod+="
replace k8s.io/$m => k8s.io/$m $staging_version"
done
# The version the binary reports (/version), as Kubernetes' release build stamps it.
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
V=k8s.io/component-base/version
kube_ldflags="-X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean"
build_one kube-apiserver "$kube_dir" k8s.io/kubernetes/cmd/kube-apiserver "$kube_mod" "$kube_ldflags"

printf 'etcd=%s\n' "$etcd_dir/etcd"
printf 'kube-apiserver=%s\n' "$kube_dir/kube-apiserver"
