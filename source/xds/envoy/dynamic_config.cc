#include "source/xds/envoy/dynamic_config.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

namespace listener_v3 = envoy::config::listener::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

void addRoutes(envoy::config::route::v3::RouteConfiguration& rc, const DynamicConfigRoute& route) {
  auto* vh = rc.mutable_virtual_hosts(0);
  const std::string etag = dynamicConfigEtag(route.body);
  auto* notModified = vh->add_routes();
  notModified->mutable_match()->set_path(route.path);
  auto* header = notModified->mutable_match()->add_headers();
  header->set_name("If-None-Match");
  header->mutable_string_match()->set_exact(etag);
  notModified->mutable_direct_response()->set_status(304);
  auto* ok = vh->add_routes();
  ok->set_name(absl::StrCat(kDynamicConfigListenerName, ":", route.name));
  ok->mutable_match()->set_path(route.path);
  auto* etagHeader = ok->add_response_headers_to_add()->mutable_header();
  etagHeader->set_key("Etag");
  etagHeader->set_value(etag);
  ok->mutable_direct_response()->set_status(200);
  ok->mutable_direct_response()->mutable_body()->set_inline_string(route.body);
  const uint32_t size = static_cast<uint32_t>(route.body.size());
  rc.mutable_max_direct_response_body_size_bytes()->set_value(
      rc.has_max_direct_response_body_size_bytes()
          ? std::max(rc.max_direct_response_body_size_bytes().value(), size)
          : size);
}

}  // namespace

std::string dynamicConfigSocketPath(const std::string& workDir) {
  return kumaDpSocketPath(workDir, "kuma-mesh-metric-config");
}

std::string dynamicConfigEtag(const std::string& body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return hex;
}

listener_v3::Listener dynamicConfigListener(const std::string& workDir,
                                            const std::vector<DynamicConfigRoute>& routes,
                                            bool ipv6Enabled) {
  listener_v3::Listener l;
  l.set_name(kDynamicConfigListenerName);
  l.mutable_address()->mutable_pipe()->set_path(dynamicConfigSocketPath(workDir));
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix(sanitizeMetric(kDynamicConfigListenerName));
  auto* internal = hcm.mutable_internal_address_config();
  auto* v4 = internal->add_cidr_ranges();
  v4->set_address_prefix("127.0.0.1");
  v4->mutable_prefix_len()->set_value(32);
  if (ipv6Enabled) {
    auto* v6 = internal->add_cidr_ranges();
    v6->set_address_prefix("::1");
    v6->mutable_prefix_len()->set_value(128);
  }
  auto* router = hcm.add_http_filters();
  router->set_name("envoy.filters.http.router");
  *router->mutable_typed_config() = packAny(envoy::extensions::filters::http::router::v3::Router());
  auto* rc = hcm.mutable_route_config();
  auto* vh = rc->add_virtual_hosts();
  vh->set_name(kDynamicConfigListenerName);
  vh->mutable_domains()->Add(std::string(1, '*'));
  for (const DynamicConfigRoute& route : routes) {
    addRoutes(*rc, route);
  }
  auto* filter = l.add_filter_chains()->add_filters();
  filter->set_name("envoy.filters.network.http_connection_manager");
  *filter->mutable_typed_config() = packAny(hcm);
  return l;
}

absl::Status addDynamicConfigRoute(listener_v3::Listener& listener,
                                   const DynamicConfigRoute& route) {
  if (listener.filter_chains_size() == 0 || listener.filter_chains(0).filters_size() == 0) {
    return absl::InvalidArgumentError("dynamic config listener without a filter chain");
  }
  auto* any = listener.mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config();
  hcm_v3::HttpConnectionManager hcm;
  if (!any->UnpackTo(&hcm) || hcm.route_config().virtual_hosts_size() == 0) {
    return absl::InvalidArgumentError("dynamic config listener without a route config");
  }
  addRoutes(*hcm.mutable_route_config(), route);
  *any = packAny(hcm);
  return absl::OkStatus();
}

}  // namespace kuma::xds
