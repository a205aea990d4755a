#include "source/plugins/policies/retry/xds_configurer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "api/mesh/v1alpha1/retry.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::policies::retry {
namespace {

namespace route_v3 = envoy::config::route::v3;
using mesh::v1alpha1::Retry;

constexpr char kHttpRetryOnDefault[] = "gateway-error,connect-failure,refused-stream";
constexpr char kRetriableStatusCodes[] = "retriable-status-codes";
constexpr char kGrpcRetryOnDefault[] =
    "cancelled,connect-failure,gateway-error,refused-stream,reset,resource-exhausted,unavailable";

void setBackOff(const Retry::Conf::BackOff& backOff, route_v3::RetryPolicy& out) {
  auto* b = out.mutable_retry_back_off();
  if (backOff.has_base_interval()) {
    *b->mutable_base_interval() = backOff.base_interval();
  }
  if (backOff.has_max_interval()) {
    *b->mutable_max_interval() = backOff.max_interval();
  }
}

// The Retry selected for the outbound, when its proxy takes the legacy path.
const Retry* selectedRetry(const xds::OutboundTarget& target) {
  if (!trafficroute::legacyPath(target.proxy) ||
      target.proxy->mesh->legacyPolicies(resources::kRetryType).empty()) {
    return nullptr;
  }
  const model::Resource* policy = trafficroute::selectConnectionPolicy<Retry>(
      target.proxy->mesh->legacyPolicies(resources::kRetryType),
      trafficroute::inboundTagsOf(*target.proxy->dataplane), target.service);
  return policy == nullptr ? nullptr : model::protoSpecOf<Retry>(*policy);
}

}  // namespace

bool retryPolicy(const Retry::Conf& conf, xds::Protocol protocol, route_v3::RetryPolicy& out) {
  out.Clear();
  if (protocol == xds::Protocol::Grpc) {
    if (!conf.has_grpc()) {
      return false;
    }
    const auto& grpc = conf.grpc();
    out.set_retry_on(kGrpcRetryOnDefault);
    if (grpc.has_per_try_timeout()) {
      *out.mutable_per_try_timeout() = grpc.per_try_timeout();
    }
    if (grpc.has_num_retries()) {
      *out.mutable_num_retries() = grpc.num_retries();
    }
    std::vector<std::string> on;
    for (int v : grpc.retry_on()) {
      on.push_back(absl::StrReplaceAll(
          Retry::Conf::Grpc::RetryOn_Name(static_cast<Retry::Conf::Grpc::RetryOn>(v)),
          {{"_", "-"}}));
    }
    if (!on.empty()) {
      out.set_retry_on(absl::StrJoin(on, ","));
    }
    if (grpc.has_back_off()) {
      setBackOff(grpc.back_off(), out);
    }
    return true;
  }
  if (protocol != xds::Protocol::Http || !conf.has_http()) {
    return false;  // Kuma's RetryConfig: "http" and "grpc" only
  }
  const auto& http = conf.http();
  out.set_retry_on(kHttpRetryOnDefault);
  if (http.has_per_try_timeout()) {
    *out.mutable_per_try_timeout() = http.per_try_timeout();
  }
  if (http.has_num_retries()) {
    *out.mutable_num_retries() = http.num_retries();
  }
  if (http.has_back_off()) {
    setBackOff(http.back_off(), out);
  }
  std::vector<std::string> on;
  for (int v : http.retry_on()) {
    std::string key = Retry::Conf::HttpRetryOn_Name(static_cast<Retry::Conf::HttpRetryOn>(v));
    if (key == "all_5xx") {
      key = "5xx";
    }
    on.push_back(absl::StrReplaceAll(key, {{"_", "-"}}));
  }
  if (!on.empty()) {
    out.set_retry_on(absl::StrJoin(on, ","));
  }
  if (!http.retriable_status_codes().empty()) {
    for (uint32_t code : http.retriable_status_codes()) {
      out.add_retriable_status_codes(code);
    }
    std::vector<std::string> split = absl::StrSplit(out.retry_on(), ',');
    if (std::find(split.begin(), split.end(), kRetriableStatusCodes) == split.end()) {
      out.set_retry_on(absl::StrCat(out.retry_on(), ",", kRetriableStatusCodes));
    }
  }
  for (int m : http.retriable_methods()) {
    if (m == mesh::v1alpha1::NONE) {
      continue;
    }
    auto* header = out.add_retriable_request_headers();
    header->set_name(":method");
    header->mutable_string_match()->set_exact(
        mesh::v1alpha1::HttpMethod_Name(static_cast<mesh::v1alpha1::HttpMethod>(m)));
  }
  return true;
}

std::string_view XdsConfigurer::policyType() const {
  return "Retry";
}

int XdsConfigurer::order() const {
  return 3;
}

absl::Status XdsConfigurer::configureOutboundHcm(
    const nlohmann::json&, const xds::OutboundTarget& target,
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
    const {
  const Retry* retry = selectedRetry(target);
  if (retry == nullptr || !hcm.has_route_config()) {
    return absl::OkStatus();
  }
  route_v3::RetryPolicy policy;
  const bool has = retryPolicy(retry->conf(), target.protocol, policy);
  for (auto& vh : *hcm.mutable_route_config()->mutable_virtual_hosts()) {
    if (has) {
      *vh.mutable_retry_policy() = policy;
    } else {
      vh.clear_retry_policy();
    }
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(
    const nlohmann::json&, const xds::OutboundTarget& target,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const {
  const Retry* retry = selectedRetry(target);
  if (retry != nullptr && retry->conf().has_tcp()) {
    proxy.mutable_max_connect_attempts()->set_value(retry->conf().tcp().max_connect_attempts());
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildRetryMap: per destination service.
  trafficroute::attachPerService<Retry>(
      proxy.mesh->legacyPolicies(resources::kRetryType), *proxy.dataplane,
      trafficroute::inspectedDestinations(*proxy.mesh, *proxy.dataplane), out);
}

}  // namespace kuma::policies::retry
