#include "source/plugins/services/controllers/hostname_generator.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/go_quote.h"
#include "source/common/logging.h"
#include "source/core/manager/meta_validation.h"
#include "source/plugins/services/controllers/service_resource.h"
#include "source/plugins/services/hostnamegenerator/hostname_template.h"

namespace kuma::services {
namespace {

constexpr std::string_view kParsePrefix = "couldn't parse template: ";
constexpr std::string_view kRenderPrefix = "couldn't render template: ";

std::string labelOr(const model::Resource& r, std::string_view key, const std::string& fallback) {
  auto it = r.meta.labels.find(std::string(key));
  return it == r.meta.labels.end() ? fallback : it->second;
}

// Kuma's sortGenerators: zone-origin generators first, then creation time, then name.
bool generatorBefore(const model::ResourceConstSharedPtr& a,
                     const model::ResourceConstSharedPtr& b) {
  const std::string oa = labelOr(*a, manager::kOriginLabel, "");
  const std::string ob = labelOr(*b, manager::kOriginLabel, "");
  if (oa != ob) {
    if (oa == "zone") {
      return true;
    }
    if (ob == "zone") {
      return false;
    }
  }
  return std::tie(a->meta.creationTime, a->meta.name) <
         std::tie(b->meta.creationTime, b->meta.name);
}

// One generator's outcome for one service.
struct Outcome {
  std::string hostname;
  nlohmann::json conditions = nlohmann::json::array();
};

}  // namespace

std::string generatorSelectorKey(std::string_view serviceType) {
  std::string key(serviceType);
  if (!key.empty()) {
    key[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[0])));
  }
  return key;  // MeshService -> meshService
}

absl::StatusOr<std::string> evaluateHostnameTemplate(const std::string& localZone,
                                                     const std::string& templateText,
                                                     const model::Resource& service,
                                                     bool validateDns) {
  hostnamegenerator::TemplateValues values;
  const std::string& name = service.meta.name;
  values.fields = {{"Name", name},
                   {"DisplayName", labelOr(service, manager::kDisplayNameLabel, name)},
                   {"Namespace", labelOr(service, kNamespaceLabel, "")},
                   {"Mesh", service.meta.mesh},
                   {"Zone", labelOr(service, manager::kZoneLabel, "")}};
  if (values.fields["Zone"].empty()) {
    values.fields["Zone"] = localZone;
  }
  values.label = [&service](std::string_view key) -> absl::StatusOr<std::string> {
    auto it = service.meta.labels.find(std::string(key));
    if (it == service.meta.labels.end()) {
      return absl::NotFoundError(absl::StrCat("label ", std::string(key), " not found"));
    }
    return it->second;
  };
  auto rendered = hostnamegenerator::renderHostnameTemplate(templateText, values);
  if (!rendered.ok()) {
    const std::string text(rendered.status().message());
    std::string_view message = text;
    if (message.starts_with(kParsePrefix)) {
      message.remove_prefix(kParsePrefix.size());
      return absl::InvalidArgumentError(
          absl::StrCat("failed compiling gotemplate error=", common::goQuote(message)));
    }
    if (message.starts_with(kRenderPrefix)) {
      message.remove_prefix(kRenderPrefix.size());
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "pre evaluation of template with parameters failed with error=", common::goQuote(message)));
  }
  if (validateDns) {
    if (auto violations = manager::dns1123SubdomainErrors(*rendered); !violations.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("generated hostname ", common::goQuote(*rendered),
                       " is not a valid DNS name: ", absl::StrJoin(violations, ", ")));
    }
  }
  return *rendered;
}

absl::StatusOr<std::string> generatedHostname(const std::string& localZone,
                                              const model::Resource& generator,
                                              const model::Resource& service, bool validateDns) {
  const SpecAndStatus g = specAndStatusOf(generator);
  auto selector = g.spec.find("selector");
  if (selector == g.spec.end() || !selector->is_object()) {
    return std::string();
  }
  auto typed = selector->find(generatorSelectorKey(service.descriptor->name));
  if (typed == selector->end() || !typed->is_object() ||
      !labelSelectorMatches(*typed, service.meta.labels)) {
    return std::string();
  }
  auto text = g.spec.find("template");
  return evaluateHostnameTemplate(
      localZone, text != g.spec.end() && text->is_string() ? text->get<std::string>() : "", service,
      validateDns);
}

absl::StatusOr<std::vector<std::string>> inspectHostnames(manager::ResourceManager& manager,
                                                          const model::TypeRegistry& registry,
                                                          const std::string& localZone,
                                                          const model::Resource& service) {
  std::vector<std::string> out;
  const model::ResourceTypeDescriptor* generatorType = registry.byName("HostnameGenerator");
  if (generatorType == nullptr) {
    return out;
  }
  auto generators = manager.store().list(*generatorType, {});
  if (!generators.ok()) {
    return generators.status();
  }
  for (const auto& generator : generators->items) {
    auto hostname = generatedHostname(localZone, *generator, service, /*validateDns=*/false);
    if (!hostname.ok()) {
      return hostname.status();
    }
    if (!hostname->empty()) {
      out.push_back(*std::move(hostname));
    }
  }
  return out;
}

HostnameGenerator::HostnameGenerator(manager::ResourceManager& manager,
                                     const model::TypeRegistry& registry, std::string zone)
    : manager_(manager), registry_(registry), zone_(std::move(zone)) {}

void HostnameGenerator::generate() {
  const model::ResourceTypeDescriptor* generatorType = registry_.byName("HostnameGenerator");
  if (generatorType == nullptr) {
    return;
  }
  auto generators = manager_.store().list(*generatorType, {});
  if (!generators.ok()) {
    logging::logger("hostnamegenerator")
        ->error("could not list HostnameGenerators: {}", generators.status().ToString());
    return;
  }
  std::vector<model::ResourceConstSharedPtr> sorted = generators->items;
  std::stable_sort(sorted.begin(), sorted.end(), generatorBefore);
  for (const char* typeName : {"MeshExternalService", "MeshService", "MeshMultiZoneService"}) {
    if (const model::ResourceTypeDescriptor* type = registry_.byName(typeName)) {
      generateFor(*type, sorted);
    }
  }
}

void HostnameGenerator::generateFor(const model::ResourceTypeDescriptor& type,
                                    const std::vector<model::ResourceConstSharedPtr>& generators) {
  auto log = logging::logger("hostnamegenerator");
  auto list = manager_.store().list(type, {});
  if (!list.ok()) {
    log->error("couldn't get resources of type {}: {}", type.name, list.status().ToString());
    return;
  }
  const std::vector<model::ResourceConstSharedPtr> services = byCreationTime(list->items);
  // mesh -> hostname -> service name (first come, first served).
  std::map<std::string, std::map<std::string, std::string>> taken;
  // service index -> generator name -> outcome (sorted by generator name, as Kuma writes them).
  std::vector<std::map<std::string, Outcome>> outcomes(services.size());
  for (const auto& generator : generators) {
    for (size_t i = 0; i < services.size(); i++) {
      const model::Resource& service = *services[i];
      absl::StatusOr<std::string> generated = generatedHostname(zone_, *generator, service, true);
      if (generated.ok() && generated->empty()) {
        outcomes[i][generator->meta.name];  // no hostname and no condition
        continue;
      }
      Outcome outcome;
      nlohmann::json condition = {{"type", "Generated"}};
      if (!generated.ok()) {
        condition["status"] = "False";
        condition["reason"] = "TemplateError";
        condition["message"] = std::string(generated.status().message());
      } else {
        auto& meshHostnames = taken[service.meta.mesh];
        auto owner = meshHostnames.find(*generated);
        if (owner != meshHostnames.end() && owner->second != service.meta.name) {
          condition["status"] = "False";
          condition["reason"] = "Collision";
          condition["message"] =
              absl::StrCat("Hostname collision with ", type.name, ": ", service.meta.name);
        } else {
          meshHostnames[*generated] = service.meta.name;
          outcome.hostname = *generated;
          condition["status"] = "True";
          condition["reason"] = "Generated";
          condition["message"] = "";
        }
      }
      outcome.conditions.push_back(std::move(condition));
      outcomes[i][generator->meta.name] = std::move(outcome);
    }
  }
  for (size_t i = 0; i < services.size(); i++) {
    const model::Resource& service = *services[i];
    nlohmann::json addresses = nlohmann::json::array();
    nlohmann::json statuses = nlohmann::json::array();
    for (const auto& [generatorName, outcome] : outcomes[i]) {
      if (outcome.hostname.empty() && outcome.conditions.empty()) {
        continue;
      }
      const nlohmann::json ref = {{"coreName", generatorName}};
      if (!outcome.hostname.empty()) {
        addresses.push_back({{"hostname", outcome.hostname},
                             {"origin", "HostnameGenerator"},
                             {"hostnameGeneratorRef", ref}});
      }
      statuses.push_back({{"hostnameGeneratorRef", ref}, {"conditions", outcome.conditions}});
    }
    SpecAndStatus s = specAndStatusOf(service);
    const nlohmann::json noList = nlohmann::json::array();
    const nlohmann::json& oldAddresses =
        s.status.contains("addresses") ? s.status["addresses"] : noList;
    const nlohmann::json& oldStatuses =
        s.status.contains("hostnameGenerators") ? s.status["hostnameGenerators"] : noList;
    if (oldAddresses == addresses && oldStatuses == statuses) {
      continue;
    }
    for (auto [key, value] :
         {std::pair{"addresses", &addresses}, std::pair{"hostnameGenerators", &statuses}}) {
      if (value->empty()) {
        s.status.erase(key);
      } else {
        s.status[key] = *value;
      }
    }
    (void)writeSpecAndStatus(manager_, service, s.spec, s.status, "hostnamegenerator", "hostnames");
  }
}

}  // namespace kuma::services
