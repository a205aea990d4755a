#!/usr/bin/env bash
# Builds the Go ADS test client (see main.go) and prints the binary's path on stdout.
#
# Everything lives outside the repository, under ${KUMA_GO_CACHE:-~/.cache/kuma-cpp/go}: the
# module cache, the build cache and the binaries, one per hash of this directory's sources and
# of the Go version. A binary already built from the same sources is reused: the second call
# only hashes. Modules come from the Go module proxy on first use (go.sum pins them).
#
# Go: $KUMA_GO, else `go` on the PATH, else /usr/local/go/bin/go (Go >= 1.24).
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KUMA_GO_CACHE:-$HOME/.cache/kuma-cpp/go}"

GO="${KUMA_GO:-}"
if [ -z "$GO" ]; then
  GO="$(command -v go || true)"
fi
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then
  GO=/usr/local/go/bin/go
fi
if [ -z "$GO" ]; then
  echo "go-xds-client: no Go toolchain (set KUMA_GO, or put go >= 1.24 on the PATH)" >&2
  exit 1
fi

export GOPATH="$CACHE/path" GOMODCACHE="$CACHE/mod" GOCACHE="$CACHE/build"
# The module cache is read-only by default, which makes `rm -rf` of the cache fail.
export GOFLAGS="-modcacherw -mod=readonly -trimpath -buildvcs=false"
export GOTOOLCHAIN=local CGO_ENABLED=0

hash="$(
  cd "$SRC"
  {
    "$GO" version
    for f in $(ls go.mod go.sum *.go | LC_ALL=C sort); do
      printf '%s\n' "$f"
      sha256sum < "$f"
    done
  } | sha256sum | cut -c1-16
)"
bin="$CACHE/bin/go-xds-client-$hash"
if [ ! -x "$bin" ]; then
  mkdir -p "$CACHE/bin"
  tmp="$(mktemp "$CACHE/bin/.go-xds-client.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  (cd "$SRC" && "$GO" build -o "$tmp" .) >&2
  mv -f "$tmp" "$bin"
  trap - EXIT
fi
printf '%s\n' "$bin"
