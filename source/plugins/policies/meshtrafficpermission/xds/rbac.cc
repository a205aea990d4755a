#include "source/plugins/policies/meshtrafficpermission/xds/rbac.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/traffic_permission.pb.h"
#include "source/common/absl_compat.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/tag_selector.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/core/schema_spec.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::policies::mtp {
namespace {

namespace rbac_v3 = envoy::config::rbac::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

constexpr char kServiceTag[] = "kuma.io/service";
constexpr char kMatchAll[] = "*";
constexpr char kSidecar[] = "Sidecar";

// Precedence of two MeshTrafficPermissions (spec §3.7 step 2): kind specificity; for two
// Dataplane refs labels-based before name-based and without sectionName before with; then
// reverse name (the name sorting first is applied last).
bool mtpAppliesBefore(const MeshPermissions::Mtp& a, const MeshPermissions::Mtp& b) {
  const int ka = targetRefKindOrder(a.targetRef.kind);
  const int kb = targetRefKindOrder(b.targetRef.kind);
  if (ka != kb) {
    return ka < kb;
  }
  if (a.targetRef.kind == kDataplane) {
    auto rank = [](const TargetRef& r) {
      return std::make_tuple(!r.name.empty(), !r.sectionName.empty());
    };
    if (rank(a.targetRef) != rank(b.targetRef)) {
      return rank(a.targetRef) < rank(b.targetRef);
    }
  }
  return a.name > b.name;
}

rbac_v3::Principal authenticated(std::string exact) {
  rbac_v3::Principal p;
  p.mutable_authenticated()->mutable_principal_name()->set_exact(std::move(exact));
  return p;
}

std::string spiffeId(std::string_view mesh, std::string_view service) {
  return absl::StrCat("spiffe://", kuma::common::av(mesh), "/", kuma::common::av(service));
}

std::string kumaId(std::string_view key, std::string_view value) {
  return absl::StrCat("kuma://", kuma::common::av(key), "/", kuma::common::av(value));
}

// 0 identities: any; 1: itself; more: and_ids.
rbac_v3::Principal combine(std::vector<rbac_v3::Principal> ids) {
  if (ids.empty()) {
    rbac_v3::Principal any;
    any.set_any(true);
    return any;
  }
  if (ids.size() == 1) {
    return std::move(ids.front());
  }
  rbac_v3::Principal out;
  for (auto& id : ids) {
    *out.mutable_and_ids()->add_ids() = std::move(id);
  }
  return out;
}

// A MeshTrafficPermission rule's clients: one identity per tag, in subset order.
rbac_v3::Principal principalOf(const Subset& subset, std::string_view mesh) {
  std::vector<rbac_v3::Principal> ids;
  for (const Tag& t : subset) {
    rbac_v3::Principal id =
        authenticated(t.key == kServiceTag ? spiffeId(mesh, t.value) : kumaId(t.key, t.value));
    if (t.negated) {
      rbac_v3::Principal negated;
      *negated.mutable_not_id() = std::move(id);
      id = std::move(negated);
    }
    ids.push_back(std::move(id));
  }
  return combine(std::move(ids));
}

// A legacy source selector: the non-service tags (key order, `*` skipped) then the service's
// SPIFFE ID (unless absent or `*`).
rbac_v3::Principal principalOf(const Tags& selector, std::string_view mesh) {
  std::vector<rbac_v3::Principal> ids;
  for (const auto& [key, value] : selector) {
    if (key != kServiceTag && value != kMatchAll) {
      ids.push_back(authenticated(kumaId(key, value)));
    }
  }
  auto service = selector.find(kServiceTag);
  if (service != selector.end() && !service->second.empty() && service->second != kMatchAll) {
    ids.push_back(authenticated(spiffeId(mesh, service->second)));
  }
  return combine(std::move(ids));
}

rbac_v3::Policy anyPermissionPolicy(std::vector<rbac_v3::Principal> principals) {
  rbac_v3::Policy policy;
  policy.add_permissions()->set_any(true);
  for (auto& p : principals) {
    *policy.add_principals() = std::move(p);
  }
  return policy;
}

void renderMtpRules(const std::vector<FromRule>& rules, std::string_view mesh, InboundRbac& out) {
  std::vector<rbac_v3::Principal> allow;
  std::vector<rbac_v3::Principal> shadow;
  for (const FromRule& rule : rules) {
    const nlohmann::json* action = member(rule.conf, "action");
    if (action == nullptr || !action->is_string()) {
      continue;
    }
    if (*action == "Allow") {
      allow.push_back(principalOf(rule.subset, mesh));
    } else if (*action == "AllowWithShadowDeny") {
      shadow.push_back(principalOf(rule.subset, mesh));
    }
  }
  out.rules.set_action(rbac_v3::RBAC::ALLOW);
  std::vector<rbac_v3::Principal> principals = allow;
  principals.insert(principals.end(), shadow.begin(), shadow.end());
  if (!principals.empty()) {
    (*out.rules.mutable_policies())[kMtpPolicyName] = anyPermissionPolicy(std::move(principals));
  }
  if (!shadow.empty()) {
    rbac_v3::RBAC deny;
    deny.set_action(rbac_v3::RBAC::DENY);
    (*deny.mutable_policies())[kMtpPolicyName] = anyPermissionPolicy(std::move(shadow));
    out.shadowRules = std::move(deny);
  }
}

}  // namespace

InboundView inboundView(const mesh::v1alpha1::Dataplane::Networking::Inbound& inbound) {
  InboundView in;
  in.port = inbound.port();
  in.name = inbound.name();
  in.tags = Tags(inbound.tags().begin(), inbound.tags().end());
  return in;
}

absl::StatusOr<DataplaneView> dataplaneView(const model::Resource& dataplane) {
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource ", dataplane.meta.name, " is not a Dataplane"));
  }
  DataplaneView view;
  view.name = dataplane.meta.name;
  view.labels = dataplane.meta.labels;
  for (const auto& inbound : spec->networking().inbound()) {
    view.inbounds.push_back(inboundView(inbound));
  }
  return view;
}

MeshPermissions MeshPermissions::build(
    std::string meshName, const mesh::v1alpha1::Mesh& mesh,
    const std::vector<model::ResourceConstSharedPtr>& meshTrafficPermissions,
    const std::vector<model::ResourceConstSharedPtr>& trafficPermissions, Options options) {
  MeshPermissions out;
  out.meshName_ = std::move(meshName);
  out.mtlsEnabled_ = !mesh.mtls().enabled_backend().empty();
  out.options_ = options;
  for (const auto& r : meshTrafficPermissions) {
    const SchemaSpec* spec = r == nullptr ? nullptr : schemaSpecOf(*r);
    if (spec == nullptr) {
      continue;
    }
    Mtp mtp;
    mtp.name = r->meta.name;
    mtp.spec = spec->spec();
    const nlohmann::json* ref = member(mtp.spec, "targetRef");
    mtp.targetRef = parseTargetRef(ref != nullptr ? *ref : nlohmann::json());
    out.mtps_.push_back(std::move(mtp));
  }
  std::stable_sort(out.mtps_.begin(), out.mtps_.end(),
                   [](const Mtp& a, const Mtp& b) { return a.name < b.name; });
  std::stable_sort(out.mtps_.begin(), out.mtps_.end(), mtpAppliesBefore);

  for (const auto& r : trafficPermissions) {
    const auto* spec =
        r == nullptr ? nullptr : model::protoSpecOf<mesh::v1alpha1::TrafficPermission>(*r);
    if (spec == nullptr) {
      continue;
    }
    Tp tp;
    tp.name = r->meta.name;
    tp.creationTime = r->meta.creationTime;
    for (const auto& s : spec->sources()) {
      tp.sources.emplace_back(s.match().begin(), s.match().end());
    }
    for (const auto& d : spec->destinations()) {
      tp.destinations.emplace_back(d.match().begin(), d.match().end());
    }
    out.tps_.push_back(std::move(tp));
  }
  std::stable_sort(out.tps_.begin(), out.tps_.end(),
                   [](const Tp& a, const Tp& b) { return a.name < b.name; });
  return out;
}

bool selectsInbound(const TargetRef& ref, const DataplaneView& dataplane,
                    const InboundView& inbound) {
  if (ref.kind == kMesh) {
    return ref.proxyTypes.empty() || std::find(ref.proxyTypes.begin(), ref.proxyTypes.end(),
                                               kSidecar) != ref.proxyTypes.end();
  }
  if (ref.kind == kMeshSubset) {
    return resources::selectorMatches(ref.tags, inbound.tags);
  }
  if (ref.kind == kMeshService || ref.kind == kMeshServiceSubset) {
    auto it = inbound.tags.find(kServiceTag);
    if (it == inbound.tags.end() || it->second != ref.name) {
      return false;
    }
    return ref.kind == kMeshService || resources::selectorMatches(ref.tags, inbound.tags);
  }
  if (ref.kind == kDataplane) {
    const bool proxyMatches = !ref.name.empty()
                                  ? ref.name == dataplane.name
                                  : resources::selectorMatches(ref.labels, dataplane.labels);
    if (!proxyMatches) {
      return false;
    }
    return ref.sectionName.empty() || ref.sectionName == inbound.name ||
           ref.sectionName == std::to_string(inbound.port);
  }
  return false;
}

const MeshPermissions::Tp* bestTrafficPermission(const MeshPermissions& permissions,
                                                 const Tags& inboundTags) {
  const MeshPermissions::Tp* best = nullptr;
  resources::SelectorRank bestRank;
  for (const auto& tp : permissions.trafficPermissions()) {  // sorted by name
    for (const Tags& destination : tp.destinations) {
      if (!resources::selectorMatches(destination, inboundTags)) {
        continue;
      }
      const auto rank = resources::rankOf(destination);
      const int order = rank.compare(bestRank);
      if (best == nullptr || order > 0 || (order == 0 && tp.creationTime > best->creationTime)) {
        best = &tp;
        bestRank = rank;
      }
    }
  }
  return best;
}

std::optional<InboundRbac> computeInboundRbac(const MeshPermissions& permissions,
                                              const DataplaneView& dataplane,
                                              const InboundView& inbound) {
  if (!permissions.mtlsEnabled()) {
    return std::nullopt;
  }
  InboundRbac out;
  std::vector<FromItem> items;
  for (const auto& mtp : permissions.meshTrafficPermissions()) {
    if (!selectsInbound(mtp.targetRef, dataplane, inbound)) {
      continue;
    }
    out.origins.push_back(mtp.name);
    if (arraySize(mtp.spec, "rules") > 0) {
      out.ignoredRules = true;
    }
    const nlohmann::json* from = member(mtp.spec, "from");
    if (from == nullptr || !from->is_array()) {
      continue;
    }
    for (const auto& item : *from) {
      const nlohmann::json* ref = member(item, "targetRef");
      std::optional<Subset> subset =
          subsetOf(parseTargetRef(ref != nullptr ? *ref : nlohmann::json()));
      const nlohmann::json* conf = member(item, "default");
      if (!subset.has_value() || conf == nullptr) {
        continue;  // rejected on write; nothing to allow
      }
      items.push_back({std::move(*subset), *conf});
    }
  }
  if (!out.origins.empty()) {
    renderMtpRules(buildFromRules(items, permissions.options().useCliques), permissions.meshName(),
                   out);
    return out;
  }

  // No MeshTrafficPermission for this inbound: legacy TrafficPermissions take over when one
  // matches any inbound of the proxy (Kuma keeps the legacy generator's network RBAC then).
  const bool legacy =
      std::any_of(dataplane.inbounds.begin(), dataplane.inbounds.end(), [&](const InboundView& in) {
        return bestTrafficPermission(permissions, in.tags) != nullptr;
      });
  if (legacy) {
    out.source = RbacSource::TrafficPermission;
    out.rules.set_action(rbac_v3::RBAC::ALLOW);
    if (const auto* tp = bestTrafficPermission(permissions, inbound.tags)) {
      std::vector<rbac_v3::Principal> principals;
      for (const Tags& source : tp->sources) {
        principals.push_back(principalOf(source, permissions.meshName()));
      }
      (*out.rules.mutable_policies())[tp->name] = anyPermissionPolicy(std::move(principals));
    }
    return out;
  }

  // Neither: Kuma's synthetic deny rule (whole mesh → Deny) renders no policy at all.
  renderMtpRules({FromRule{Subset{}, {{"action", "Deny"}}}}, permissions.meshName(), out);
  return out;
}

envoy::extensions::filters::network::rbac::v3::RBAC networkRbac(const InboundRbac& rbac,
                                                                std::string_view listenerName) {
  envoy::extensions::filters::network::rbac::v3::RBAC out;
  // The trailing dot separates the listener from Envoy's "rbac.allowed" stat names.
  out.set_stat_prefix(absl::StrCat(xds::sanitizeMetric(listenerName), "."));
  *out.mutable_rules() = rbac.rules;
  if (rbac.shadowRules.has_value()) {
    *out.mutable_shadow_rules() = *rbac.shadowRules;
  }
  return out;
}

envoy::extensions::filters::http::rbac::v3::RBAC httpRbac(const InboundRbac& rbac) {
  envoy::extensions::filters::http::rbac::v3::RBAC out;
  *out.mutable_rules() = rbac.rules;
  if (rbac.shadowRules.has_value()) {
    *out.mutable_shadow_rules() = *rbac.shadowRules;
  }
  return out;
}

envoy::config::listener::v3::Filter networkFilter(const InboundRbac& rbac,
                                                  std::string_view listenerName) {
  envoy::config::listener::v3::Filter filter;
  filter.set_name(kNetworkRbacFilter);
  *filter.mutable_typed_config() = xds::packAny(networkRbac(rbac, listenerName));
  return filter;
}

hcm_v3::HttpFilter httpFilter(const InboundRbac& rbac) {
  hcm_v3::HttpFilter filter;
  filter.set_name(kHttpRbacFilter);
  *filter.mutable_typed_config() = xds::packAny(httpRbac(rbac));
  return filter;
}

absl::Status configureFilterChain(const InboundRbac& rbac, std::string_view listenerName,
                                  envoy::config::listener::v3::FilterChain& chain) {
  auto* filters = chain.mutable_filters();
  for (int i = 0; i < filters->size(); ++i) {
    if (filters->Get(i).name() == kNetworkRbacFilter) {
      filters->erase(filters->begin() + i);
      break;
    }
  }
  if (rbac.source == RbacSource::MeshTrafficPermission) {
    for (auto& filter : *filters) {
      if (filter.name() != kHcmFilter) {
        continue;
      }
      hcm_v3::HttpConnectionManager hcm;
      if (!filter.typed_config().UnpackTo(&hcm)) {
        return absl::InvalidArgumentError(absl::StrCat("filter ", kHcmFilter, " of ",
                                                       kuma::common::av(listenerName),
                                                       " does not hold an HttpConnectionManager"));
      }
      auto* httpFilters = hcm.mutable_http_filters();
      *httpFilters->Add() = httpFilter(rbac);
      std::rotate(httpFilters->begin(), httpFilters->end() - 1, httpFilters->end());
      *filter.mutable_typed_config() = xds::packAny(hcm);
      return absl::OkStatus();
    }
  }
  *filters->Add() = networkFilter(rbac, listenerName);
  std::rotate(filters->begin(), filters->end() - 1, filters->end());
  return absl::OkStatus();
}

}  // namespace kuma::policies::mtp
