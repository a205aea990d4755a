#include "source/xds/envoy/http_filters.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {

namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

absl::Status insertHttpFiltersBeforeRouter(hcm_v3::HttpConnectionManager& hcm,
                                           std::vector<hcm_v3::HttpFilter> filters) {
  auto* list = hcm.mutable_http_filters();
  for (int i = 0; i < list->size(); ++i) {
    if (list->Get(i).name() != kRouterFilterName) {
      continue;
    }
    google::protobuf::RepeatedPtrField<hcm_v3::HttpFilter> out;
    out.Reserve(list->size() + static_cast<int>(filters.size()));
    for (int j = 0; j < i; ++j) {
      *out.Add() = std::move(*list->Mutable(j));
    }
    for (auto& f : filters) {
      *out.Add() = std::move(f);
    }
    for (int j = i; j < list->size(); ++j) {
      *out.Add() = std::move(*list->Mutable(j));
    }
    list->Swap(&out);
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "could not insert filter, envoy.filters.http.router is not found in HTTPConnectionManager");
}

absl::Status updateHttpConnectionManager(
    envoy::config::listener::v3::FilterChain& chain,
    const std::function<absl::Status(hcm_v3::HttpConnectionManager&)>& edit) {
  for (auto& filter : *chain.mutable_filters()) {
    if (filter.name() != "envoy.filters.network.http_connection_manager") {
      continue;
    }
    hcm_v3::HttpConnectionManager hcm;
    if (!filter.typed_config().UnpackTo(&hcm)) {
      return absl::InvalidArgumentError(
          "filter config has unexpected type: expected "
          "HttpConnectionManager, got " +
          filter.typed_config().type_url());
    }
    if (absl::Status s = edit(hcm); !s.ok()) {
      return s;
    }
    *filter.mutable_typed_config() = packAny(hcm);
  }
  return absl::OkStatus();
}

void addInternalAddresses(hcm_v3::HttpConnectionManager& hcm, const std::vector<std::string>& cidrs,
                          bool ipv6) {
  auto* config = hcm.mutable_internal_address_config();
  for (const auto& cidr : cidrs) {
    std::vector<std::string> parts = absl::StrSplit(cidr, '/');
    uint32_t len = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &len) || (!ipv6 && isIPv6(parts[0]))) {
      continue;
    }
    auto* range = config->add_cidr_ranges();
    range->set_address_prefix(parts[0]);
    range->mutable_prefix_len()->set_value(len);
  }
}

void addRouter(hcm_v3::HttpConnectionManager& hcm) {
  auto* router = hcm.add_http_filters();
  router->set_name(kRouterFilterName);
  *router->mutable_typed_config() = packAny(envoy::extensions::filters::http::router::v3::Router());
}

}  // namespace kuma::xds
