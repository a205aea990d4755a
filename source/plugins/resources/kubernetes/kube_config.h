#pragma once

// File: kube_config.h
// Where and how to reach a Kubernetes API server: a kubeconfig file (the current context's
// cluster and user) or the in-cluster service account, as client-go finds them. Only what the
// resource store needs: an https server, its CA, and either a bearer token or a client
// certificate. Exec plugins and auth providers are refused with a clear error.
//
//   auto conn = kuma::k8s::discoverConnection("");   // $KUBECONFIG, else in-cluster
//
// Kubeconfig text is hostile input: size-bounded (kMaxKubeconfigBytes), parsed with the bounded
// YAML parser of source/common, and every referenced file is read with the same bound.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kuma::k8s {

inline constexpr size_t kMaxKubeconfigBytes = 1u << 20;

/** One API server endpoint and the credentials to present to it. */
struct KubeConnection {
  std::string host;
  uint16_t port = 443;
  /** PEM of the CA that signs the serving certificate; empty: the system trust store. */
  std::string caPem;
  bool insecureSkipVerify = false;
  /** Bearer token (kubeconfig `token`/`tokenFile`, or the service account's token). */
  std::string bearerToken;
  /** Client certificate and key (PEM), both or neither. */
  std::string clientCertPem;
  std::string clientKeyPem;
};

/** Reads a referenced file (bounded); replaceable in tests and fuzzing. */
using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

/** Reads a whole file of at most kMaxKubeconfigBytes. */
absl::StatusOr<std::string> readBoundedFile(const std::string& path);

/**
 * Parses kubeconfig text: current-context (or `context` when given) → cluster + user.
 * Relative file paths are resolved against `baseDir`. InvalidArgument for anything malformed
 * or unsupported (exec, auth-provider, http:// servers).
 */
absl::StatusOr<KubeConnection> parseKubeconfig(std::string_view text, const std::string& baseDir,
                                               const FileReader& readFile,
                                               const std::string& context = "");

/** Parses `https://host[:port]` (IPv6 in brackets). */
absl::StatusOr<KubeConnection> parseServerUrl(std::string_view url);

/** Loads a kubeconfig file. */
absl::StatusOr<KubeConnection> loadKubeconfig(const std::string& path);

/**
 * The in-cluster service account: token and ca.crt under `root`
 * (/var/run/secrets/kubernetes.io/serviceaccount), host from KUBERNETES_SERVICE_HOST/PORT.
 */
absl::StatusOr<KubeConnection> inClusterConnection(
    const std::string& root = "/var/run/secrets/kubernetes.io/serviceaccount");

/** `kubeconfig` when not empty, else $KUBECONFIG, else the in-cluster service account. */
absl::StatusOr<KubeConnection> discoverConnection(const std::string& kubeconfig);

}  // namespace kuma::k8s
