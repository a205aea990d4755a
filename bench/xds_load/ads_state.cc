#include "bench/xds_load/ads_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace kuma::bench::load {
namespace {

namespace discovery = envoy::service::discovery::v3;
using Hcm = envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

const std::string kTypeUrls[kXdsTypes] = {
    "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "type.googleapis.com/envoy.config.listener.v3.Listener",
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
};
const char* const kTypeNames[kXdsTypes] = {"CDS", "LDS", "EDS", "RDS"};

std::optional<XdsType> typeOf(const std::string& url) {
  for (size_t i = 0; i < kXdsTypes; ++i) {
    if (kTypeUrls[i] == url) {
      return static_cast<XdsType>(i);
    }
  }
  return std::nullopt;
}

// The type whose names a type's resources name: CDS → EDS, LDS → RDS.
std::optional<XdsType> dependentOf(XdsType type) {
  switch (type) {
    case XdsType::Cds:
      return XdsType::Eds;
    case XdsType::Lds:
      return XdsType::Rds;
    default:
      return std::nullopt;
  }
}

void collectRds(const envoy::config::listener::v3::FilterChain& chain,
                std::vector<std::string>& out) {
  for (const auto& filter : chain.filters()) {
    if (!filter.has_typed_config() || !filter.typed_config().Is<Hcm>()) {
      continue;
    }
    Hcm hcm;
    if (filter.typed_config().UnpackTo(&hcm) && hcm.has_rds()) {
      out.push_back(hcm.rds().route_config_name());
    }
  }
}

}  // namespace

const char* xdsTypeName(XdsType type) {
  return kTypeNames[static_cast<size_t>(type)];
}
const std::string& xdsTypeUrl(XdsType type) {
  return kTypeUrls[static_cast<size_t>(type)];
}

AdsState::AdsState(Protocol protocol, envoy::config::core::v3::Node node, bool recordTimeline)
    : protocol_(protocol), node_(std::move(node)), recordTimeline_(recordTimeline) {}

void AdsState::record(SteadyTime at, std::string kind, std::string detail) {
  if (recordTimeline_) {
    timeline_.push_back(TimelineEvent{at, std::move(kind), std::move(detail)});
  }
}

void AdsState::beginStream(SteadyTime now) {
  ++streams_;
  if (!firstStart_.has_value()) {
    firstStart_ = now;
  }
  nodeSent_ = false;
  completeAcked_ = false;
  for (TypeState& t : types_) {
    t.nonce.clear();
    t.requested = false;
    t.answered = false;
  }
  record(now, "open", "");
}

bool AdsState::complete() const {
  if (!state(XdsType::Cds).answered || !state(XdsType::Lds).answered) {
    return false;
  }
  for (XdsType type : {XdsType::Eds, XdsType::Rds}) {
    const TypeState& t = state(type);
    if (t.names.empty()) {
      continue;
    }
    if (!t.answered) {
      return false;
    }
    for (const std::string& name : t.names) {
      if (!t.held.contains(name)) {
        return false;
      }
    }
  }
  return true;
}

std::vector<std::string> AdsState::missing() const {
  std::vector<std::string> out;
  for (XdsType type : {XdsType::Cds, XdsType::Lds}) {
    if (!state(type).answered) {
      out.push_back(xdsTypeName(type));
    }
  }
  for (XdsType type : {XdsType::Eds, XdsType::Rds}) {
    for (const std::string& name : state(type).names) {
      if (!state(type).held.contains(name)) {
        out.push_back(absl::StrCat(xdsTypeName(type), ":", name));
      }
    }
  }
  return out;
}

void AdsState::markCompleteAcked(SteadyTime now) {
  if (completeAcked_ || !complete()) {
    return;
  }
  completeAcked_ = true;
  if (!firstComplete_.has_value()) {
    firstComplete_ = now;
  }
  record(now, "complete", "");
}

void AdsState::markClosed(SteadyTime now, const std::string& status) {
  completeAcked_ = false;
  record(now, "closed", status);
}

uint64_t AdsState::totalBytes() const {
  uint64_t n = 0;
  for (const TypeState& t : types_) {
    n += t.stats.bytes;
  }
  return n;
}

uint64_t AdsState::totalResponses() const {
  uint64_t n = 0;
  for (const TypeState& t : types_) {
    n += t.stats.responses;
  }
  return n;
}

uint64_t AdsState::totalResourcesReceived() const {
  uint64_t n = 0;
  for (const TypeState& t : types_) {
    n += t.stats.resourcesReceived;
  }
  return n;
}

void AdsState::collectDependencies(XdsType type, const google::protobuf::Any& resource,
                                   std::set<std::string>& out, std::string& name) {
  std::vector<std::string> deps;
  bool ok = false;
  switch (type) {
    case XdsType::Cds: {
      envoy::config::cluster::v3::Cluster cluster;
      ok = resource.UnpackTo(&cluster);
      name = cluster.name();
      const bool eds =
          cluster.cluster_discovery_type_case() == envoy::config::cluster::v3::Cluster::kType &&
          cluster.type() == envoy::config::cluster::v3::Cluster::EDS;
      if (ok && eds) {
        const std::string& service = cluster.eds_cluster_config().service_name();
        deps.push_back(service.empty() ? cluster.name() : service);
      }
      break;
    }
    case XdsType::Lds: {
      envoy::config::listener::v3::Listener listener;
      ok = resource.UnpackTo(&listener);
      name = listener.name();
      for (const auto& chain : listener.filter_chains()) {
        collectRds(chain, deps);
      }
      if (listener.has_default_filter_chain()) {
        collectRds(listener.default_filter_chain(), deps);
      }
      break;
    }
    case XdsType::Eds: {
      envoy::config::endpoint::v3::ClusterLoadAssignment cla;
      ok = resource.UnpackTo(&cla);
      name = cla.cluster_name();
      break;
    }
    case XdsType::Rds: {
      envoy::config::route::v3::RouteConfiguration route;
      ok = resource.UnpackTo(&route);
      name = route.name();
      break;
    }
  }
  if (!ok) {
    ++decodeErrors_;
  }
  out.insert(deps.begin(), deps.end());
}

discovery::DiscoveryRequest AdsState::sotwRequest(XdsType type, bool withNonce) {
  TypeState& t = state(type);
  discovery::DiscoveryRequest r;
  if (!nodeSent_) {
    *r.mutable_node() = node_;
    nodeSent_ = true;
  }
  r.set_version_info(t.version);
  r.set_type_url(xdsTypeUrl(type));
  for (const std::string& name : t.names) {
    r.add_resource_names(name);
  }
  if (withNonce) {
    r.set_response_nonce(t.nonce);
  }
  t.requested = true;
  return r;
}

std::vector<discovery::DiscoveryRequest> AdsState::startSotw(SteadyTime now) {
  beginStream(now);
  std::vector<discovery::DiscoveryRequest> out;
  out.push_back(sotwRequest(XdsType::Cds, false));
  out.push_back(sotwRequest(XdsType::Lds, false));
  // Envoy re-sends every subscription it has when the stream is re-established.
  for (XdsType type : {XdsType::Eds, XdsType::Rds}) {
    if (!state(type).names.empty()) {
      out.push_back(sotwRequest(type, false));
    }
  }
  return out;
}

std::vector<discovery::DiscoveryRequest> AdsState::onSotwResponse(
    const discovery::DiscoveryResponse& response, SteadyTime now) {
  std::vector<discovery::DiscoveryRequest> out;
  const auto type = typeOf(response.type_url());
  if (!type.has_value()) {
    discovery::DiscoveryRequest ack;
    ack.set_version_info(response.version_info());
    ack.set_type_url(response.type_url());
    ack.set_response_nonce(response.nonce());
    out.push_back(std::move(ack));
    return out;
  }
  TypeState& t = state(*type);
  t.stats.responses++;
  t.stats.bytes += response.ByteSizeLong();
  t.stats.resourcesReceived += response.resources_size();
  t.nonce = response.nonce();
  t.answered = true;

  std::set<std::string> deps;
  std::map<std::string, std::string> held;
  for (const auto& resource : response.resources()) {
    std::string name;
    collectDependencies(*type, resource, deps, name);
    held[name] = response.version_info();
  }
  if (response.version_info() != t.version) {
    record(now, xdsTypeName(*type), response.version_info());
  }
  t.version = response.version_info();
  t.held = std::move(held);

  if (auto dependent = dependentOf(*type)) {
    TypeState& d = state(*dependent);
    if (deps != d.names) {
      // An empty SotW name list would mean "wildcard"; Envoy keeps the stale subscription
      // instead, and so do we (only the completeness check forgets the names).
      const bool send = !deps.empty();
      d.names = std::move(deps);
      if (send) {
        out.push_back(sotwRequest(*dependent, true));
      }
    }
  }
  out.push_back(sotwRequest(*type, true));
  return out;
}

std::vector<discovery::DeltaDiscoveryRequest> AdsState::startDelta(SteadyTime now) {
  beginStream(now);
  std::vector<discovery::DeltaDiscoveryRequest> out;
  for (XdsType type : {XdsType::Cds, XdsType::Lds, XdsType::Eds, XdsType::Rds}) {
    TypeState& t = state(type);
    const bool wildcard = type == XdsType::Cds || type == XdsType::Lds;
    if (!wildcard && t.names.empty()) {
      continue;
    }
    discovery::DeltaDiscoveryRequest r;
    if (!nodeSent_) {
      *r.mutable_node() = node_;
      nodeSent_ = true;
    }
    r.set_type_url(xdsTypeUrl(type));
    for (const std::string& name : t.names) {
      r.add_resource_names_subscribe(name);
    }
    for (const auto& [name, version] : t.held) {
      (*r.mutable_initial_resource_versions())[name] = version;
    }
    t.requested = true;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<discovery::DeltaDiscoveryRequest> AdsState::onDeltaResponse(
    const discovery::DeltaDiscoveryResponse& response, SteadyTime now) {
  std::vector<discovery::DeltaDiscoveryRequest> out;
  const auto type = typeOf(response.type_url());
  if (!type.has_value()) {
    discovery::DeltaDiscoveryRequest ack;
    ack.set_type_url(response.type_url());
    ack.set_response_nonce(response.nonce());
    out.push_back(std::move(ack));
    return out;
  }
  TypeState& t = state(*type);
  t.stats.responses++;
  t.stats.bytes += response.ByteSizeLong();
  t.stats.resourcesReceived += response.resources_size();
  t.nonce = response.nonce();
  t.answered = true;

  bool changed = false;
  for (const auto& resource : response.resources()) {
    std::set<std::string> deps;
    std::string decodedName;
    collectDependencies(*type, resource.resource(), deps, decodedName);
    const std::string& name = resource.name().empty() ? decodedName : resource.name();
    auto [it, inserted] = t.held.try_emplace(name, resource.version());
    if (inserted || it->second != resource.version()) {
      changed = true;
      it->second = resource.version();
    }
    t.deps[name] = std::move(deps);
  }
  for (const std::string& name : response.removed_resources()) {
    if (t.held.erase(name) > 0) {
      changed = true;
    }
    t.deps.erase(name);
  }
  if (changed) {
    ++deltaChanges_;
    record(now, xdsTypeName(*type),
           response.system_version_info().empty() ? absl::StrCat("delta-", deltaChanges_)
                                                  : response.system_version_info());
  }
  t.version = response.system_version_info();

  if (auto dependent = dependentOf(*type)) {
    std::set<std::string> wanted;
    for (const auto& [name, deps] : t.deps) {
      wanted.insert(deps.begin(), deps.end());
    }
    TypeState& d = state(*dependent);
    if (wanted != d.names) {
      discovery::DeltaDiscoveryRequest r;
      r.set_type_url(xdsTypeUrl(*dependent));
      for (const std::string& name : wanted) {
        if (!d.names.contains(name)) {
          r.add_resource_names_subscribe(name);
        }
      }
      for (const std::string& name : d.names) {
        if (!wanted.contains(name)) {
          r.add_resource_names_unsubscribe(name);
          d.held.erase(name);
        }
      }
      d.names = std::move(wanted);
      d.requested = true;
      out.push_back(std::move(r));
    }
  }
  discovery::DeltaDiscoveryRequest ack;
  ack.set_type_url(response.type_url());
  ack.set_response_nonce(response.nonce());
  out.push_back(std::move(ack));
  return out;
}

}  // namespace kuma::bench::load
