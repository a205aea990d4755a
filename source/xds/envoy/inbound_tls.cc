#include "source/xds/envoy/inbound_tls.h"

#include <set>

#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;

bool isMtlsChain(const FilterChain& chain) {
  return chain.transport_socket().name() == kTlsTransportSocket;
}

bool hasTlsInspector(const Listener& listener) {
  for (const auto& f : listener.listener_filters()) {
    if (f.name() == kTlsInspectorName) {
      return true;
    }
  }
  return false;
}

// Passthrough traffic is not subject to policies: no timeouts (Envoy's defaults), as in Kuma.
envoy::config::listener::v3::Filter passthroughTcpProxy(const std::string& name,
                                                        const std::string& cluster) {
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proxy;
  proxy.set_stat_prefix(sanitizeMetric(name));
  proxy.set_cluster(cluster);
  envoy::config::listener::v3::Filter filter;
  filter.set_name("envoy.filters.network.tcp_proxy");
  *filter.mutable_typed_config() = packAny(proxy);
  return filter;
}

}  // namespace

void makeInboundPermissive(Listener& listener) {
  if (hasTlsInspector(listener)) {
    return;
  }
  const FilterChain* mtls = nullptr;
  for (const auto& chain : listener.filter_chains()) {
    if (isMtlsChain(chain)) {
      mtls = &chain;
    }
  }
  if (mtls == nullptr) {
    return;
  }
  FilterChain secure = *mtls;
  FilterChain plaintext = secure;
  plaintext.clear_transport_socket();
  plaintext.mutable_filter_chain_match()->set_transport_protocol("raw_buffer");
  FilterChain appTls = plaintext;
  appTls.mutable_filter_chain_match()->set_transport_protocol("tls");
  secure.mutable_filter_chain_match()->set_transport_protocol("tls");
  secure.mutable_filter_chain_match()->add_application_protocols(kMeshAlpn);
  listener.clear_filter_chains();
  *listener.add_filter_chains() = std::move(plaintext);
  *listener.add_filter_chains() = std::move(appTls);
  *listener.add_filter_chains() = std::move(secure);
  auto* inspector = listener.add_listener_filters();
  inspector->set_name(kTlsInspectorName);
  inspector->mutable_typed_config()->set_type_url(kTlsInspectorType);
}

void makeInboundStrict(Listener& listener) {
  auto* filters = listener.mutable_listener_filters();
  for (int i = filters->size() - 1; i >= 0; --i) {
    if (filters->Get(i).name() == kTlsInspectorName) {
      filters->DeleteSubrange(i, 1);
    }
  }
  auto* chains = listener.mutable_filter_chains();
  for (int i = chains->size() - 1; i >= 0; --i) {
    if (!isMtlsChain(chains->Get(i))) {
      chains->DeleteSubrange(i, 1);
    } else {
      chains->Mutable(i)->clear_filter_chain_match();
    }
  }
}

void setPassthroughChains(Listener& listener, const std::string& name,
                          const std::vector<uint32_t>& ports, bool strictPorts) {
  listener.clear_filter_chains();
  if (!strictPorts || ports.empty()) {
    *listener.add_filter_chains()->add_filters() = passthroughTcpProxy(name, name);
    return;
  }
  std::set<uint32_t> seen;
  for (uint32_t port : ports) {
    if (!seen.insert(port).second) {
      continue;
    }
    auto* chain = listener.add_filter_chains();
    chain->mutable_filter_chain_match()->mutable_destination_port()->set_value(port);
    *chain->add_filters() =
        passthroughTcpProxy(name, port == kTcpPortReserved ? kNoDestinationInbound : name);
  }
}

}  // namespace kuma::xds
