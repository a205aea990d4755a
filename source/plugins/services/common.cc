#include "source/plugins/services/common.h"

#include <memory>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/absl_compat.h"
#include "source/common/go_quote.h"
#include "source/core/manager/meta_validation.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/schema_spec.h"

namespace kuma::services {
namespace {

using namespace policies;  // NOLINT: the schema builders
using common::av;

constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxHostname = 253;

}  // namespace

SchemaPtr labelSelectorSchema() {
  return object({field("matchLabels", mapOf(string()))});
}

SchemaPtr addressSchema() {
  return object({field("hostname", string()), field("origin", string()),
                 field("hostnameGeneratorRef", object({required("coreName", string())}))});
}

// metav1.Condition's patterns (the lengths are bounded first, so std::regex sees short input).
constexpr const char* kReasonPattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
constexpr const char* kTypePattern =
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

policies::StringPattern patternOf(const char* text) {
  auto re = std::make_shared<const std::regex>(text, std::regex::ECMAScript);
  return {text, [re](std::string_view s) { return std::regex_match(s.begin(), s.end(), *re); }};
}

SchemaPtr conditionSchema() {
  return object({
      required("type",
               withPattern(withLength(string(), std::nullopt, 316), patternOf(kTypePattern))),
      required("status", enumOf({"True", "False", "Unknown"})),
      required("reason", withPattern(withLength(string(), 1, 1024), patternOf(kReasonPattern))),
      required("message", withLength(string(), std::nullopt, 32768)),
  });
}

SchemaPtr hostnameGeneratorStatusSchema() {
  return object({required("hostnameGeneratorRef", object({required("coreName", string())})),
                 field("conditions", arrayOf(conditionSchema()))});
}

SchemaPtr vipSchema() {
  return object({field("ip", string())});
}

SchemaPtr extensionSchema() {
  return object({required("type", string()), field("config", any())});
}

void validateNameLength(const model::Resource& resource, validators::ValidationError& errors) {
  if (resource.meta.name.size() > kMaxLabel) {
    errors.addViolationAt(validators::PathBuilder("name"),
                          absl::StrCat("must not be longer than ", kMaxLabel, " characters"));
  }
}

std::vector<std::string> portSectionNames(const model::Resource& resource) {
  std::vector<std::string> out;
  const SchemaSpec* spec = schemaSpecOf(resource);
  const nlohmann::json* ports = spec == nullptr ? nullptr : member(spec->spec(), "ports");
  if (ports == nullptr || !ports->is_array()) {
    return out;
  }
  for (const nlohmann::json& port : *ports) {
    if (const nlohmann::json* name = member(port, "name"); name != nullptr && name->is_string()) {
      out.push_back(name->get<std::string>());
    } else if (const nlohmann::json* number = member(port, "port");
               number != nullptr && number->is_number_integer()) {
      out.push_back(std::to_string(number->get<int64_t>()));
    }
  }
  return out;
}

std::vector<std::string> destinationDeprecations(const model::Resource& resource,
                                                 std::string_view typeName,
                                                 std::string_view shortName,
                                                 const std::vector<std::string>& sectionNames) {
  std::vector<std::string> out;
  const std::string& name = resource.meta.name;
  if (auto errors = manager::dns1035LabelErrors(name); !errors.empty()) {
    out.push_back(absl::StrCat("Invalid ", av(typeName), " resource name: '", name,
                               "'. It does not conform to the DNS format (RFC 1035). This is "
                               "deprecated. Errors: ",
                               absl::StrJoin(errors, "; ")));
  }
  std::string zone;
  if (auto it = resource.meta.labels.find("kuma.io/zone"); it != resource.meta.labels.end()) {
    zone = it->second;
  }
  const std::string& mesh = resource.meta.mesh;
  for (const std::string& section : sectionNames) {
    std::vector<std::string> errors;
    if (mesh.empty() || name.empty() || section.empty()) {
      errors.push_back("mesh, name and sectionName must be non-empty");
    } else {
      std::vector<std::pair<const char*, const std::string*>> fields = {{"mesh", &mesh},
                                                                        {"name", &name}};
      if (!zone.empty()) {
        fields.emplace_back("zone", &zone);
      }
      for (const auto& [label, value] : fields) {
        if (auto msgs = manager::dns1123LabelErrors(*value); !msgs.empty()) {
          errors.push_back(
              absl::StrCat(label, " ", common::goQuote(*value),
                           " does not conform to RFC 1123: ", absl::StrJoin(msgs, "; ")));
        }
      }
      if (auto msgs = manager::dns1123LabelErrors(section); !msgs.empty()) {
        errors.push_back(absl::StrJoin(msgs, "; "));
      }
      const std::string sni = absl::StrCat("sni.", av(shortName), ".", mesh,
                                           zone.empty() ? "" : ".", zone, ".", name, ".", section);
      if (sni.size() > kMaxHostname) {
        errors.push_back(absl::StrCat("computed SNI is ", sni.size(),
                                      " characters which exceeds the DNS hostname limit (",
                                      kMaxHostname, ")"));
      }
    }
    for (const std::string& e : errors) {
      out.push_back(absl::StrCat("Invalid ", av(typeName), " SNI (port ", common::goQuote(section),
                                 "): ", e, ". This is deprecated."));
    }
  }
  return out;
}

}  // namespace kuma::services
