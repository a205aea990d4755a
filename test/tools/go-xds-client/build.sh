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

# shellcheck source=../../../tools/go_env.sh
source "$SRC/../../../tools/go_env.sh"
kuma_go_env go-xds-client 1.24 "$CACHE"
export GOFLAGS="$GOFLAGS -mod=readonly"

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
