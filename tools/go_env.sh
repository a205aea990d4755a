# Sourced by the build scripts of the Go test tools (test/tools/go-xds-client/build.sh,
# tools/k8s/build.sh): `kuma_go_env <who> <minimum Go> <cache dir>` sets GO to the toolchain
# ($KUMA_GO, else `go` on the PATH, else /usr/local/go/bin/go) and points Go's module and build
# caches at <cache dir>, outside the repository. Exits when there is no Go.
kuma_go_env() {
  local who="$1" minimum="$2" cache="$3"
  GO="${KUMA_GO:-}"
  if [ -z "$GO" ]; then
    GO="$(command -v go || true)"
  fi
  if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then
    GO=/usr/local/go/bin/go
  fi
  if [ -z "$GO" ]; then
    echo "$who: no Go toolchain (set KUMA_GO, or put go >= $minimum on the PATH)" >&2
    exit 1
  fi
  export GOPATH="$cache/path" GOMODCACHE="$cache/mod" GOCACHE="$cache/build"
  # The module cache is read-only by default, which makes `rm -rf` of the cache fail.
  export GOFLAGS="-modcacherw -trimpath -buildvcs=false"
  export GOTOOLCHAIN=local CGO_ENABLED=0
}
