// Fuzz target: what kuma-cp reads from the Node of an ADS stream (docs/fuzzing.md):
// parseNodeDataplane() (node.id and the `dataplane.resource` metadata, JSON or YAML) and
// parseNodeProxyMetadata() (admin and readiness ports, admin address, features).
//
// Input: a Node in proto-JSON when it starts with '{' (what the seed corpus holds: readable), else
// the Node's binary protobuf encoding (what arrives on the wire). Oracle: a Dataplane read from
// the metadata is named after node.id, and its REST form reads back.

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"
#include "source/core/model/rest_codec.h"
#include "source/core/validators/validation_error.h"
#include "source/xds/sync/node_metadata.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);  // malformed inputs would log on every run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  envoy::config::core::v3::Node node;
  const std::string_view text = fuzz::asText(data, size);
  if (!text.empty() && text[0] == '{') {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(std::string(text), &node, options).ok()) {
      return 0;
    }
  } else if (!node.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }

  const kuma::xds::sync::NodeProxyMetadata proxy = kuma::xds::sync::parseNodeProxyMetadata(node);
  (void)proxy;
  const model::ResourceTypeDescriptor* dataplaneType = server::allTypes().byName("Dataplane");
  auto parsed = kuma::xds::sync::parseNodeDataplane(node, dataplaneType);
  if (!parsed.ok()) {
    return 0;
  }
  auto id = kuma::xds::sync::parseNodeId(node.id());
  FUZZ_CHECK(id.ok() && id->first == parsed->mesh && id->second == parsed->name,
             absl::StrCat("identity differs from node id ", node.id()));
  if (!parsed->dataplane.has_value()) {
    return 0;
  }
  const model::Resource& dataplane = *parsed->dataplane;
  FUZZ_CHECK(dataplane.meta.mesh == parsed->mesh && dataplane.meta.name == parsed->name,
             absl::StrCat("the Dataplane is not named after node id ", node.id()));
  validators::ValidationError errors;
  if (dataplaneType->validate) {
    dataplaneType->validate(dataplane, errors);
  }
  const std::string rest = model::toRestJson(dataplane).dump();
  auto again = model::fromRestJson(*dataplaneType, nlohmann::json::parse(rest));
  FUZZ_CHECK(again.ok() && again->resource.spec->equals(*dataplane.spec),
             absl::StrCat("the Dataplane does not read back: ", rest));
  return 0;
}
