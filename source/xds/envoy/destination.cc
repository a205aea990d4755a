#include "source/xds/envoy/destination.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/escaping.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "openssl/sha.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/inbound_tls.h"

namespace kuma::xds {
namespace {

namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
using Tags = std::map<std::string, std::string>;

constexpr char kServiceTag[] = "kuma.io/service";

}  // namespace

std::string destinationClusterName(const Tags& tags) {
  auto service = tags.find(kServiceTag);
  const std::string name = service == tags.end() ? "" : service->second;
  if (tags.size() == 1 && service != tags.end()) {
    return name;
  }
  std::string material;
  for (const auto& [k, v] : tags) {  // sorted by key
    absl::StrAppend(&material, k, v);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return absl::StrCat(
      name, "-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8)));
}

std::string meshSni(const std::string& mesh, const std::string& service, const Tags& tags) {
  Tags extra = tags;
  extra.erase(kServiceTag);
  extra["mesh"] = mesh;
  std::vector<std::string> pairs;
  pairs.reserve(extra.size());
  for (const auto& [k, v] : extra) {
    pairs.push_back(absl::StrCat(k, "=", v));
  }
  return absl::StrCat(service, "{", absl::StrJoin(pairs, ","), "}");
}

absl::Status retargetUpstreamMtls(envoy::config::cluster::v3::Cluster& cluster,
                                  const std::string& mesh, const std::string& service,
                                  const Tags& tags) {
  if (!cluster.has_transport_socket() || cluster.transport_socket().name() != kTlsTransportSocket) {
    return absl::OkStatus();
  }
  tls_v3::UpstreamTlsContext context;
  if (!cluster.transport_socket().typed_config().UnpackTo(&context)) {
    return absl::InternalError(
        absl::StrCat("cluster ", cluster.name(), ": bad upstream TLS context"));
  }
  context.set_sni(meshSni(mesh, service, tags));
  auto* validation = context.mutable_common_tls_context()
                         ->mutable_combined_validation_context()
                         ->mutable_default_validation_context();
  for (auto& san : *validation->mutable_match_typed_subject_alt_names()) {
    if (san.san_type() == tls_v3::SubjectAltNameMatcher::URI && san.matcher().has_exact()) {
      san.mutable_matcher()->set_exact(absl::StrCat("spiffe://", mesh, "/", service));
    }
  }
  *cluster.mutable_transport_socket()->mutable_typed_config() = packAny(context);
  return absl::OkStatus();
}

void setTagsMetadata(envoy::config::core::v3::Metadata& metadata, const std::string& key,
                     const Tags& tags) {
  auto& fields = *(*metadata.mutable_filter_metadata())[key].mutable_fields();
  for (const auto& [k, v] : tags) {
    fields[k].set_string_value(v);
  }
}

envoy::config::endpoint::v3::ClusterLoadAssignment loadAssignment(
    const std::vector<Endpoint>& endpoints, const std::string& clusterName, const Tags& tags) {
  envoy::config::endpoint::v3::ClusterLoadAssignment cla;
  cla.set_cluster_name(clusterName);
  std::map<std::string, std::vector<const Endpoint*>> byZone;
  for (const Endpoint& ep : endpoints) {
    bool match = true;
    for (const auto& [k, v] : tags) {
      auto it = ep.tags.find(k);
      match = match && it != ep.tags.end() && it->second == v;
    }
    if (match) {
      byZone[ep.zone].push_back(&ep);
    }
  }
  for (const auto& [zone, eps] : byZone) {
    auto* locality = cla.add_endpoints();
    if (!zone.empty()) {
      locality->mutable_locality()->set_zone(zone);
    }
    for (const Endpoint* ep : eps) {
      auto* lb = locality->add_lb_endpoints();
      auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
      sa->set_address(ep->address);
      sa->set_port_value(ep->port);
      lb->mutable_load_balancing_weight()->set_value(1);
      Tags lbTags = ep->tags;
      lbTags.erase(kServiceTag);
      if (!lbTags.empty()) {
        setTagsMetadata(*lb->mutable_metadata(), "envoy.lb", lbTags);
        setTagsMetadata(*lb->mutable_metadata(), "envoy.transport_socket_match", lbTags);
      }
      if (!ep->labels.empty()) {
        setTagsMetadata(*lb->mutable_metadata(), "io.kuma.labels", ep->labels);
      }
    }
  }
  return cla;
}

}  // namespace kuma::xds
