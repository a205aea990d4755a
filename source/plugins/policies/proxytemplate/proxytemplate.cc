#include "source/plugins/policies/proxytemplate/proxytemplate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/proxy_template.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/validation_helpers.h"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"

namespace kuma::policies::proxytemplate {
namespace {

using mesh::v1alpha1::ProxyTemplate;
using meshproxypatch::ValueKind;
using validators::PathBuilder;
using validators::ValidationError;
using Mods = ProxyTemplate::Modifications;

// Kuma's AvailableProfiles, sorted as its error lists them.
constexpr const char* kProfiles[] = {"default-proxy", "egress-proxy", "gateway-proxy",
                                     "ingress-proxy"};

constexpr char kAddRemovePatch[] =
    R"(invalid operation. Available operations: "add", "patch", "remove")";
constexpr char kFilterOperations[] =
    R"(invalid operation. Available operations: "addFirst", "addLast", "addBefore", "addAfter", "patch", "remove")";

// ValidateAnyResourceYAML (or ...Patch) of a modification's value, at `path.value`.
void checkValue(const PathBuilder& path, ValueKind kind, const std::string& value, bool patch,
                ValidationError& errors) {
  if (absl::Status s = meshproxypatch::validateNativeValue(kind, value, patch); !s.ok()) {
    errors.addViolation(path.field("value").str(),
                        absl::StrCat("native Envoy resource is not valid: ", s.message()));
  }
}

// Cluster and Listener: add (no match), patch, remove.
template <class M>
void checkResourceModification(const PathBuilder& path, const M& mod, ValueKind kind,
                               ValidationError& errors) {
  if (mod.operation() == "add") {
    if (mod.has_match()) {
      errors.addViolation(path.field("match").str(), "cannot be defined");
    }
    checkValue(path, kind, mod.value(), false, errors);
  } else if (mod.operation() == "patch") {
    checkValue(path, kind, mod.value(), true, errors);
  } else if (mod.operation() != "remove") {
    errors.addViolation(path.field("operation").str(), kAddRemovePatch);
  }
}

// NetworkFilter and HttpFilter: addFirst, addLast, addBefore, addAfter, patch, remove.
template <class M>
void checkFilterModification(const PathBuilder& path, const M& mod, ValueKind kind,
                             ValidationError& errors) {
  const std::string& op = mod.operation();
  const bool unnamed = mod.match().name().empty();
  if (op == "addFirst" || op == "addLast") {
    checkValue(path, kind, mod.value(), false, errors);
  } else if (op == "addBefore" || op == "addAfter") {
    if (unnamed) {
      errors.addViolation(
          path.field("match").field("name").str(),
          absl::StrCat("cannot be empty. You need to pick a filter ",
                       op == "addBefore" ? "before" : "after", " which this one will be added"));
    }
    checkValue(path, kind, mod.value(), false, errors);
  } else if (op == "patch") {
    if (unnamed) {
      errors.addViolation(path.field("match").field("name").str(), "cannot be empty");
    }
    checkValue(path, kind, mod.value(), true, errors);
  } else if (op != "remove") {
    errors.addViolation(path.field("operation").str(), kFilterOperations);
  }
}

void checkVirtualHostModification(const PathBuilder& path, const Mods::VirtualHost& mod,
                                  ValidationError& errors) {
  if (mod.operation() == "add") {
    if (!mod.match().name().empty()) {
      errors.addViolation(path.field("match").field("name").str(), "cannot be defined");
    }
    checkValue(path, ValueKind::VirtualHost, mod.value(), false, errors);
  } else if (mod.operation() == "patch") {
    checkValue(path, ValueKind::VirtualHost, mod.value(), true, errors);
  } else if (mod.operation() != "remove") {
    errors.addViolation(path.field("operation").str(), kAddRemovePatch);
  }
}

void validate(const ProxyTemplate& spec, ValidationError& errors) {
  resources::SelectorsOptions selectors;
  selectors.tags.requireService = true;
  selectors.tags.requireAtLeastOneTag = true;
  resources::validateSelectors(PathBuilder("selectors"), spec.selectors(), selectors, errors);

  const PathBuilder conf("conf");
  for (int i = 0; i < spec.conf().imports_size(); ++i) {
    const std::string& name = spec.conf().imports(i);
    const std::string path = conf.field("imports").index(i).str();
    if (name.empty()) {
      errors.addViolation(path, "cannot be empty");
      continue;
    }
    bool known = false;
    std::string available;
    for (const char* p : kProfiles) {
      known = known || name == p;
      absl::StrAppend(&available, available.empty() ? "" : ",", p);
    }
    if (!known) {
      errors.addViolation(path, absl::StrCat("profile not found. Available profiles: ", available));
    }
  }
  for (int i = 0; i < spec.conf().resources_size(); ++i) {
    const auto& r = spec.conf().resources(i);
    const PathBuilder at = conf.field("resources").index(i);
    if (r.name().empty()) {
      errors.addViolation(at.field("name").str(), "cannot be empty");
    }
    if (r.version().empty()) {
      errors.addViolation(at.field("version").str(), "cannot be empty");
    }
    if (r.resource().empty()) {
      errors.addViolation(at.field("resource").str(), "cannot be empty");
    } else if (auto parsed = meshproxypatch::parseAnyResource(r.resource()); !parsed.ok()) {
      errors.addViolation(
          at.field("resource").str(),
          absl::StrCat("native Envoy resource is not valid: ", parsed.status().message()));
    }
  }
  for (int i = 0; i < spec.conf().modifications_size(); ++i) {
    const Mods& mod = spec.conf().modifications(i);
    const PathBuilder at = conf.field("modifications").index(i);
    switch (mod.type_case()) {
      case Mods::kCluster:
        checkResourceModification(at.field("cluster"), mod.cluster(), ValueKind::Cluster, errors);
        break;
      case Mods::kListener:
        checkResourceModification(at.field("listener"), mod.listener(), ValueKind::Listener,
                                  errors);
        break;
      case Mods::kNetworkFilter:
        checkFilterModification(at.field("networkFilter"), mod.networkfilter(),
                                ValueKind::NetworkFilter, errors);
        break;
      case Mods::kHttpFilter:
        checkFilterModification(at.field("httpFilter"), mod.httpfilter(), ValueKind::HttpFilter,
                                errors);
        break;
      case Mods::kVirtualHost:
        checkVirtualHostModification(at.field("virtualHost"), mod.virtualhost(), errors);
        break;
      case Mods::TYPE_NOT_SET:
        break;
    }
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition def;
  def.name = "ProxyTemplate";
  def.descriptor = [] {
    model::ResourceTypeDescriptor d;
    d.name = "ProxyTemplate";
    d.wsPath = "proxytemplates";
    d.singularDisplayName = "Proxy Template";
    d.pluralDisplayName = "Proxy Templates";
    d.format = model::SpecFormat::Flat;
    d.parseSpec = &model::ProtoSpec<ProxyTemplate>::parse;
    d.emptySpec = &model::ProtoSpec<ProxyTemplate>::empty;
    d.isPolicy = true;
    d.includeInFederation = true;
    d.policy.isTargetRef = false;
    d.validate = [](const model::Resource& resource, ValidationError& errors) {
      if (const auto* spec = model::protoSpecOf<ProxyTemplate>(resource)) {
        validate(*spec, errors);
      }
    };
    return d;
  };
  return def;
}

}  // namespace kuma::policies::proxytemplate
