#include "source/plugins/policies/meshtls/xds_configurer.h"

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh.h"
#include "source/plugins/policies/core/inbound_policies.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/inbound_tls.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshtls {
namespace {

using nlohmann::json;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
using envoy::config::listener::v3::Listener;
using mesh::v1alpha1::CertificateAuthorityBackend;

tls_v3::TlsParameters::TlsProtocol protocolOf(const json& version) {
  const std::string v = version.is_string() ? version.get<std::string>() : "";
  if (v == "TLS13") {
    return tls_v3::TlsParameters::TLSv1_3;
  }
  if (v == "TLS12") {
    return tls_v3::TlsParameters::TLSv1_2;
  }
  if (v == "TLS11") {
    return tls_v3::TlsParameters::TLSv1_1;
  }
  if (v == "TLS10") {
    return tls_v3::TlsParameters::TLSv1_0;
  }
  return tls_v3::TlsParameters::TLS_AUTO;
}

void setCiphers(const json& ciphers, tls_v3::TlsParameters& params) {
  for (const json& c : ciphers) {
    if (c.is_string()) {
      params.add_cipher_suites(c.get<std::string>());
    }
  }
}

// Kuma's getMeshTLSMode (without workload identities): the conf's mode, else the backend's.
bool permissive(const json& conf, const CertificateAuthorityBackend& backend) {
  const json* mode = member(conf, "mode");
  if (mode != nullptr && mode->is_string()) {
    return *mode == "Permissive";
  }
  return backend.mode() == CertificateAuthorityBackend::PERMISSIVE;
}

// Rewrites the typed config of `socket` (a T) with `edit`; false when unchanged or unreadable.
template <class T, class Edit>
bool editTransportSocket(envoy::config::core::v3::TransportSocket& socket, Edit edit) {
  T context;
  if (socket.name() != xds::kTlsTransportSocket || !socket.typed_config().UnpackTo(&context) ||
      !edit(*context.mutable_common_tls_context())) {
    return false;
  }
  *socket.mutable_typed_config() = xds::packAny(context);
  return true;
}

}  // namespace

bool setUpstreamTlsParams(const json& conf, tls_v3::CommonTlsContext& tls) {
  const json* version = member(conf, "tlsVersion");
  const json* min = version == nullptr ? nullptr : member(*version, "min");
  const json* max = version == nullptr ? nullptr : member(*version, "max");
  const size_t ciphers = arraySize(conf, "tlsCiphers");
  if (ciphers == 0 && min == nullptr && max == nullptr) {
    return false;
  }
  tls_v3::TlsParameters& params = *tls.mutable_tls_params();
  params.Clear();
  if (ciphers > 0) {
    setCiphers(conf["tlsCiphers"], params);
  }
  if (min != nullptr) {
    params.set_tls_minimum_protocol_version(protocolOf(*min));
  }
  if (max != nullptr) {
    params.set_tls_maximum_protocol_version(protocolOf(*max));
  }
  return true;
}

bool setDownstreamTlsParams(const json& conf, tls_v3::CommonTlsContext& tls) {
  const json* version = member(conf, "tlsVersion");
  const json* min = version == nullptr ? nullptr : member(*version, "min");
  const json* max = version == nullptr ? nullptr : member(*version, "max");
  bool changed = false;
  if (min != nullptr) {
    tls.mutable_tls_params()->Clear();
    tls.mutable_tls_params()->set_tls_minimum_protocol_version(protocolOf(*min));
    changed = true;
  }
  if (max != nullptr) {
    tls.mutable_tls_params()->set_tls_maximum_protocol_version(protocolOf(*max));
    changed = true;
  }
  // Kuma sets the cipher suites only on parameters a version created.
  if (arraySize(conf, "tlsCiphers") > 0 && tls.has_tls_params()) {
    tls.mutable_tls_params()->clear_cipher_suites();
    setCiphers(conf["tlsCiphers"], *tls.mutable_tls_params());
    changed = true;
  }
  return changed;
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshTLS";
}

int XdsConfigurer::order() const {
  return 300;  // Kuma's MeshTLS order
}

std::optional<json> XdsConfigurer::destinationConf(const std::vector<const json*>& specs,
                                                   const std::string& /*service*/) const {
  // TLS versions and ciphers are only allowed under a top-level Mesh (validation), so every
  // inbound's conf carries the same ones: the proxy-wide merge is Kuma's "first inbound rule".
  return specs.empty() ? json(nullptr) : mergeInboundConf(specs);
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf,
                                                       const xds::OutboundTarget& target,
                                                       xds::OutboundResources& resources) const {
  if (conf.is_null() || target.mesh == nullptr ||
      resources::enabledCaBackend(target.mesh->mesh()) == nullptr) {
    return absl::OkStatus();
  }
  for (auto& cluster : resources.clusters) {
    if (cluster->has_transport_socket()) {
      editTransportSocket<tls_v3::UpstreamTlsContext>(
          *cluster->mutable_transport_socket(),
          [&](tls_v3::CommonTlsContext& tls) { return setUpstreamTlsParams(conf, tls); });
    }
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.inbounds == nullptr || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const CertificateAuthorityBackend* backend = resources::enabledCaBackend(proxy.mesh->mesh());
  if (backend == nullptr) {
    return absl::OkStatus();  // Kuma: MeshTLS needs mTLS
  }
  std::optional<bool> passthroughPermissive;
  for (const xds::InboundTarget& inbound : *proxy.inbounds) {
    auto* listener = resources.find<Listener>(inbound.listenerName);
    if (listener == nullptr) {
      continue;
    }
    const json conf = mergeInboundConf(specsForInbound(proxy, policyType(), specs, inbound.index));
    const bool isPermissive = permissive(conf, *backend);
    passthroughPermissive = isPermissive;
    if (isPermissive) {
      xds::makeInboundPermissive(*listener);
    } else {
      xds::makeInboundStrict(*listener);
    }
    for (auto& chain : *listener->mutable_filter_chains()) {
      if (chain.has_transport_socket()) {
        editTransportSocket<tls_v3::DownstreamTlsContext>(
            *chain.mutable_transport_socket(),
            [&](tls_v3::CommonTlsContext& tls) { return setDownstreamTlsParams(conf, tls); });
      }
    }
  }
  if (!proxy.transparentProxy || !passthroughPermissive.has_value()) {
    return absl::OkStatus();
  }
  // Kuma rebuilds the inbound passthrough with each inbound's mode: the last one stands.
  const auto* dataplane = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  std::vector<uint32_t> ports;
  for (const auto& in : dataplane->networking().inbound()) {
    ports.push_back(in.port());
  }
  for (const char* name : {"inbound:passthrough:ipv4", "inbound:passthrough:ipv6"}) {
    if (auto* listener = resources.find<Listener>(name)) {
      xds::setPassthroughChains(*listener, name, ports, !*passthroughPermissive);
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshtls
