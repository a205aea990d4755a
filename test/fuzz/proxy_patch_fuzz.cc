// Fuzz target: MeshProxyPatch's `value` parser and its JSON Patch application, and
// ProxyTemplate's raw resources (source/plugins/policies/meshproxypatch/envoy_value.h,
// docs/fuzzing.md).
//
// Input: the first line is a list of JSON patches (a JSON array), the rest a cluster `value`
// (YAML or JSON), also read as a raw resource (an Any of any Envoy type). Oracles: nothing
// crashes or throws; the value parses or yields an error; a raw resource that parses serializes;
// a patched cluster that succeeds still serializes, and its JSON form stays within the size
// bound.

#include <cstddef>
#include <cstdint>
#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma::policies::meshproxypatch;  // NOLINT
  const std::string text(kuma::fuzz::asText(data, size));
  const size_t newline = text.find('\n');
  const std::string patchText = text.substr(0, newline);
  const std::string valueText = newline == std::string::npos ? "" : text.substr(newline + 1);

  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("fuzz");
  cluster.mutable_connect_timeout()->set_seconds(5);
  (void)validateNativeValue(ValueKind::Cluster, valueText, /*patch=*/false);
  if (auto raw = parseAnyResource(valueText); raw.ok()) {
    std::string bytes;
    FUZZ_CHECK((*raw)->SerializeToString(&bytes), "a parsed raw resource does not serialize");
  }
  auto value = parseValue(ValueKind::Cluster, valueText);
  if (value.ok()) {
    mergeMessage(cluster, **value);
  }
  const nlohmann::json patches = nlohmann::json::parse(patchText, nullptr, false);
  if (!patches.is_discarded()) {
    if (applyJsonPatches(patches, cluster).ok()) {
      std::string bytes;
      FUZZ_CHECK(cluster.SerializeToString(&bytes), "a patched cluster does not serialize");
      FUZZ_CHECK(bytes.size() <= 4 * kMaxPatchedBytes, "a patched cluster outgrew the bound");
    }
  }
  return 0;
}
