// Fuzz target: the REST codec, for every registered resource type (docs/fuzzing.md).
//
// Input: byte 0 selects the type (index into TypeRegistry::all() modulo its size), byte 1 the
// parser (0: parseJson, 1: parseYaml, 2: parseJsonOrYaml, as the API picks by content type),
// the rest is the body. A body that parses as a resource is validated, then written back with
// toRestJson and read again both as JSON and as YAML: the oracle is that what kuma-cp writes it
// can read, to an equal spec with the same violations.

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/core/model/rest_codec.h"
#include "source/core/validators/validation_error.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

std::string violationsOf(const model::Resource& resource) {
  validators::ValidationError errors;
  if (resource.descriptor->validate) {
    resource.descriptor->validate(resource, errors);
  }
  // Rendering is part of what the API does with violations.
  (void)errors.toStatus();
  return errors.toString();
}

void checkReadsBack(const model::ResourceTypeDescriptor& type, const model::RestBody& original,
                    const std::string& violations, absl::StatusOr<nlohmann::json> document,
                    const char* form, const std::string& text) {
  FUZZ_CHECK(document.ok(), absl::StrCat(type.name, ": own ", form, " does not parse: ",
                                         document.status().ToString(), "\n", text));
  auto again = model::fromRestJson(type, *document);
  FUZZ_CHECK(again.ok(), absl::StrCat(type.name, ": own ", form, " is not a resource: ",
                                      again.status().ToString(), "\n", text));
  // A global type's REST form has no mesh (the manager refuses one).
  FUZZ_CHECK(again->name == original.name &&
                 (type.scope == model::Scope::Global || again->mesh == original.mesh) &&
                 again->resource.meta.labels == original.resource.meta.labels,
             absl::StrCat(type.name, ": meta changed through ", form, "\n", text));
  FUZZ_CHECK(again->resource.spec->equals(*original.resource.spec),
             absl::StrCat(type.name, ": spec changed through ", form, "\n", text));
  FUZZ_CHECK(violationsOf(again->resource) == violations,
             absl::StrCat(type.name, ": violations changed through ", form, "\n", text));
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  kuma::fuzz::maybeListTypes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size < 2) {
    return 0;
  }
  const model::ResourceTypeDescriptor& type = fuzz::typeForByte(data[0]);
  const std::string_view body = fuzz::asText(data + 2, size - 2);
  absl::StatusOr<nlohmann::json> document;
  switch (data[1] % 3) {
    case 0:
      document = common::parseJson(body);
      break;
    case 1:
      document = common::parseYaml(body);
      break;
    default:
      document = common::parseJsonOrYaml(body);
      break;
  }
  if (!document.ok()) {
    return 0;
  }
  auto parsed = model::fromRestJson(type, *document);
  if (!parsed.ok()) {
    (void)validators::ValidationError::fromStatus(parsed.status());
    return 0;
  }
  FUZZ_CHECK(parsed->resource.spec != nullptr, type.name + ": parsed without a spec");
  const std::string violations = fuzz::violationsOf(parsed->resource);

  const nlohmann::ordered_json rest = model::toRestJson(parsed->resource);
  const std::string json = rest.dump();
  fuzz::checkReadsBack(type, *parsed, violations, common::parseJson(json), "JSON", json);
  const std::string yaml = common::toYaml(rest);
  fuzz::checkReadsBack(type, *parsed, violations, common::parseYaml(yaml), "YAML", yaml);
  return 0;
}
