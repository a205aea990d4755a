#include "source/plugins/policies/proxytemplate/xds_configurer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/proxy_template.pb.h"
#include "google/protobuf/descriptor.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"
#include "source/plugins/policies/meshproxypatch/xds_configurer.h"
#include "source/plugins/policies/proxytemplate/proxytemplate.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::proxytemplate {
namespace {

using mesh::v1alpha1::ProxyTemplate;
using json = nlohmann::json;

constexpr std::string_view kType = "ProxyTemplate";
// After every other plugin, MeshProxyPatch (9999) included: Kuma runs the profile (with all
// policy plugins), then adds the raw resources, then applies the modifications.
constexpr int kOrder = 10000;

const model::Resource* selectedTemplate(const xds::ProxyContext& proxy) {
  if (proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return nullptr;
  }
  const auto& templates = proxy.mesh->legacyPolicies(kType);
  if (templates.empty()) {
    return nullptr;
  }
  return trafficroute::selectDataplanePolicy<ProxyTemplate>(
      templates, trafficroute::inboundTagsOf(*proxy.dataplane));
}

// The name Envoy knows a raw resource by: its `name` (`cluster_name` for endpoints).
std::string resourceName(const google::protobuf::Message& message) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  for (const char* field : {"name", "cluster_name"}) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(field);
    if (f != nullptr && f->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
        !f->is_repeated()) {
      return message.GetReflection()->GetString(message, f);
    }
  }
  return "";
}

// A ProxyTemplate modification in MeshProxyPatch's shape: the operation capitalized
// ("addFirst" → "AddFirst"), everything else as it is.
json asProxyPatchModification(const json& modification) {
  json out = modification;
  for (auto& [kind, mod] : out.items()) {
    if (mod.is_object() && mod.contains("operation") && mod["operation"].is_string()) {
      std::string op = mod["operation"];
      if (!op.empty() && op[0] >= 'a' && op[0] <= 'z') {
        op[0] = static_cast<char>(op[0] - 'a' + 'A');
      }
      mod["operation"] = op;
    }
  }
  return out;
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return kType;
}

int XdsConfigurer::order() const {
  return kOrder;
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy, const std::vector<const json*>&,
                                  xds::ResourceSet& resources) const {
  const model::Resource* selected = selectedTemplate(proxy);
  if (selected == nullptr) {
    return absl::OkStatus();  // Kuma's default template: the default-proxy profile
  }
  const ProxyTemplate::Conf& conf = model::protoSpecOf<ProxyTemplate>(*selected)->conf();
  bool defaultProfile = false;
  for (const std::string& name : conf.imports()) {
    defaultProfile = defaultProfile || name == kDefaultProxyProfile;
  }
  if (!defaultProfile) {
    resources.clear();
  }
  for (int i = 0; i < conf.resources_size(); ++i) {
    const auto& raw = conf.resources(i);
    auto message = meshproxypatch::parseAnyResource(raw.resource());
    if (!message.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("resources: raw.resources[", i, "]{name=\"",
                                                     raw.name(),
                                                     "\"}.resource: ", message.status().message()));
    }
    const std::string typeUrl =
        absl::StrCat("type.googleapis.com/", (*message)->GetDescriptor()->full_name());
    std::string name = resourceName(**message);
    resources.add(typeUrl, name.empty() ? raw.name() : std::move(name), std::move(*message));
  }
  if (conf.modifications().empty()) {
    return absl::OkStatus();
  }
  // The modifications as JSON (the spec's own encoding), in MeshProxyPatch's shape.
  const json spec = json::parse(selected->spec->toJson().dump());
  std::vector<json> converted;
  if (const json* c = spec.contains("conf") ? &spec["conf"] : nullptr;
      c != nullptr && c->contains("modifications") && (*c)["modifications"].is_array()) {
    for (const json& m : (*c)["modifications"]) {
      converted.push_back(asProxyPatchModification(m));
    }
  }
  std::vector<const json*> modifications;
  for (const json& m : converted) {
    modifications.push_back(&m);
  }
  if (absl::Status s = meshproxypatch::applyModifications(proxy, modifications, resources);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("could not apply modifications: ", s.message()));
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  if (const model::Resource* selected = selectedTemplate(proxy)) {
    out.push_back({xds::PolicyAttachment::Kind::Dataplane, "", "", selected});
  }
}

}  // namespace kuma::policies::proxytemplate
