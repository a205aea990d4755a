// Fuzz target: the kubeconfig parser of the Kubernetes store (kube_config.h, docs/kubernetes.md).
//
// Input: kubeconfig text. Referenced files read as a fixed short text, so that paths that read
// them are explored too. Oracles: a parsed connection has a host and a port, a client
// certificate comes with its key, and the server URL that parsing accepted parses again to the
// same host and port.

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "source/plugins/resources/kubernetes/kube_config.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  auto readFile = [](const std::string& path) -> absl::StatusOr<std::string> {
    if (path.size() > 4096) {
      return absl::InvalidArgumentError("long path");
    }
    return std::string("file content");
  };
  auto conn = k8s::parseKubeconfig(fuzz::asText(data, size), "/base", readFile);
  if (!conn.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(conn.status()) || absl::IsNotFound(conn.status()),
               conn.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!conn->host.empty(), "no host");
  FUZZ_CHECK(conn->port != 0, "no port");
  FUZZ_CHECK(conn->clientCertPem.empty() == conn->clientKeyPem.empty(), "certificate without key");
  const std::string host =
      conn->host.find(':') != std::string::npos ? "[" + conn->host + "]" : conn->host;
  auto again = k8s::parseServerUrl(absl::StrCat("https://", host, ":", conn->port));
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(again->host == conn->host && again->port == conn->port, "server does not round-trip");
  return 0;
}
