#pragma once

// File: plugin_test_util.h
// Helpers shared by the policy plugins' unit tests (source/plugins/policies/<policy>/*_test.cc):
// hook targets and small Envoy messages to configure.

#include <cstdint>
#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "google/protobuf/duration.pb.h"
#include "kuma/xds/policy_plugin.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::policies::testing {

inline xds::OutboundTarget outTarget(const std::string& service, xds::Protocol protocol) {
  xds::OutboundTarget t;
  t.service = service;
  t.protocol = protocol;
  t.clusterName = service;
  return t;
}

inline xds::InboundTarget inTarget(uint32_t port, xds::Protocol protocol) {
  xds::InboundTarget t;
  t.port = port;
  t.protocol = protocol;
  return t;
}

inline int64_t ms(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

inline envoy::config::core::v3::HttpProtocolOptions common(int64_t idleMs, int64_t maxConnMs,
                                                           int64_t maxStreamMs) {
  envoy::config::core::v3::HttpProtocolOptions c;
  c.mutable_idle_timeout()->set_seconds(idleMs / 1000);
  c.mutable_idle_timeout()->set_nanos(static_cast<int32_t>(idleMs % 1000) * 1000000);
  c.mutable_max_connection_duration()->set_seconds(maxConnMs / 1000);
  c.mutable_max_connection_duration()->set_nanos(static_cast<int32_t>(maxConnMs % 1000) * 1000000);
  c.mutable_max_stream_duration()->set_seconds(maxStreamMs / 1000);
  c.mutable_max_stream_duration()->set_nanos(static_cast<int32_t>(maxStreamMs % 1000) * 1000000);
  return c;
}

/** A cluster `api` with the upstream HTTP protocol options the generator gives it. */
inline envoy::config::cluster::v3::Cluster clusterWithHttpOptions(bool http2) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name("api");
  (*c.mutable_typed_extension_protocol_options())[xds::kHttpProtocolOptionsKey] =
      xds::httpProtocolOptionsAny(http2, nullptr);
  return c;
}

/** A catch-all route to `api`. */
inline envoy::config::route::v3::Route routeToCluster() {
  envoy::config::route::v3::Route r;
  r.mutable_match()->set_prefix("/");
  r.mutable_route()->set_cluster("api");
  return r;
}

}  // namespace kuma::policies::testing
