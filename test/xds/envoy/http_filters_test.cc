// The HTTP-filter helpers of policy plugins: filters inserted right before the router, in
// order; Kuma's error without a router; the HCM of a filter chain edited in place.

#include "source/xds/envoy/http_filters.h"

#include "envoy/config/listener/v3/listener_components.pb.h"
#include "gtest/gtest.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

hcm_v3::HttpFilter named(const std::string& name) {
  hcm_v3::HttpFilter f;
  f.set_name(name);
  return f;
}

std::vector<std::string> namesOf(const hcm_v3::HttpConnectionManager& hcm) {
  std::vector<std::string> out;
  for (const auto& f : hcm.http_filters()) {
    out.push_back(f.name());
  }
  return out;
}

TEST(HttpFilters, InsertsBeforeTheRouterInOrder) {
  hcm_v3::HttpConnectionManager hcm;
  *hcm.add_http_filters() = named("rbac");
  *hcm.add_http_filters() = named(kRouterFilterName);
  ASSERT_TRUE(insertHttpFiltersBeforeRouter(hcm, {named("a"), named("b")}).ok());
  ASSERT_TRUE(insertHttpFiltersBeforeRouter(hcm, {named("c")}).ok());
  EXPECT_EQ(namesOf(hcm),
            (std::vector<std::string>{"rbac", "a", "b", "c", "envoy.filters.http.router"}));
}

TEST(HttpFilters, WithoutRouterFailsAndLeavesTheHcm) {
  hcm_v3::HttpConnectionManager hcm;
  *hcm.add_http_filters() = named("rbac");
  const absl::Status s = insertHttpFiltersBeforeRouter(hcm, {named("a")});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "could not insert filter, envoy.filters.http.router is not found in "
            "HTTPConnectionManager");
  EXPECT_EQ(namesOf(hcm), (std::vector<std::string>{"rbac"}));
}

TEST(HttpFilters, UpdatesThePackedHcmOfAChain) {
  envoy::config::listener::v3::FilterChain chain;
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix("in");
  *hcm.add_http_filters() = named(kRouterFilterName);
  auto* filter = chain.add_filters();
  filter->set_name("envoy.filters.network.http_connection_manager");
  *filter->mutable_typed_config() = packAny(hcm);
  ASSERT_TRUE(updateHttpConnectionManager(chain, [](hcm_v3::HttpConnectionManager& h) {
                return insertHttpFiltersBeforeRouter(h, {named("fault")});
              }).ok());
  hcm_v3::HttpConnectionManager after;
  ASSERT_TRUE(chain.filters(0).typed_config().UnpackTo(&after));
  EXPECT_EQ(after.stat_prefix(), "in");
  EXPECT_EQ(namesOf(after), (std::vector<std::string>{"fault", "envoy.filters.http.router"}));
  EXPECT_EQ(chain.filters(0).typed_config().type_url(), kHttpConnectionManagerType);

  // An edit's error comes back; a chain without an HCM is left alone.
  EXPECT_EQ(updateHttpConnectionManager(
                chain, [](hcm_v3::HttpConnectionManager&) { return absl::InternalError("boom"); })
                .code(),
            absl::StatusCode::kInternal);
  envoy::config::listener::v3::FilterChain tcp;
  tcp.add_filters()->set_name("envoy.filters.network.tcp_proxy");
  int calls = 0;
  EXPECT_TRUE(updateHttpConnectionManager(tcp, [&](hcm_v3::HttpConnectionManager&) {
                ++calls;
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(calls, 0);

  // A filter of that name whose config is not an HCM.
  envoy::config::listener::v3::FilterChain bad;
  auto* wrong = bad.add_filters();
  wrong->set_name("envoy.filters.network.http_connection_manager");
  *wrong->mutable_typed_config() = packAny(envoy::config::listener::v3::FilterChain());
  EXPECT_EQ(updateHttpConnectionManager(
                bad, [](hcm_v3::HttpConnectionManager&) { return absl::OkStatus(); })
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kuma::xds
