#include "source/xds/envoy/http_filters.h"

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

}  // namespace kuma::xds
