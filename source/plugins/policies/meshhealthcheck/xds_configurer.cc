#include "source/plugins/policies/meshhealthcheck/xds_configurer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "envoy/type/v3/range.pb.h"
#include "google/protobuf/util/time_util.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshhealthcheck {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;

constexpr char kTagsHeader[] = "x-kuma-tags";
constexpr char kFileSinkName[] = "envoy.health_check.event_sinks.file";
constexpr char kFileSinkType[] =
    "type.googleapis.com/envoy.extensions.health_check.event_sinks.file.v3."
    "HealthCheckEventFileSink";

google::protobuf::Duration toDuration(std::chrono::nanoseconds d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(d.count());
}

std::optional<int64_t> intAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer()) {
    return std::nullopt;
  }
  return v->get<int64_t>();
}

std::optional<bool> boolAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_boolean()) {
    return std::nullopt;
  }
  return v->get<bool>();
}

std::string stringAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// A checker section that is present and not disabled.
bool enabled(const json* section) {
  return section != nullptr && !boolAt(*section, "disabled").value_or(false);
}
bool disabled(const json* section) {
  return section != nullptr && boolAt(*section, "disabled").value_or(false);
}

// HealthCheckEventFileSink{event_log_path = path} (field 1, a string), packed by hand: the
// extension's proto is not part of the Envoy API library this build compiles.
std::string fileSinkBytes(const std::string& path) {
  std::string out(1, '\x0a');
  uint64_t n = path.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + path;
}

void addHeaders(const json* modifier, std::string_view key,
                core_v3::HeaderValueOption::HeaderAppendAction action,
                core_v3::HealthCheck::HttpHealthCheck& http) {
  const json* list = modifier != nullptr ? member(*modifier, key) : nullptr;
  if (list == nullptr || !list->is_array()) {
    return;
  }
  for (const json& h : *list) {
    const std::string name = stringAt(h, "name");
    for (const auto& value : absl::StrSplit(stringAt(h, "value"), ',')) {
      auto* opt = http.add_request_headers_to_add();
      opt->mutable_header()->set_key(name);
      opt->mutable_header()->set_value(std::string(value));
      opt->set_append_action(action);
    }
  }
}

void prependTagsHeader(const std::string& tagsHeader, core_v3::HealthCheck::HttpHealthCheck& http) {
  core_v3::HeaderValueOption opt;
  opt.mutable_header()->set_key(kTagsHeader);
  opt.mutable_header()->set_value(tagsHeader);
  auto* headers = http.mutable_request_headers_to_add();
  *headers->Add() = std::move(opt);
  for (int i = headers->size() - 1; i > 0; --i) {
    headers->SwapElements(i, i - 1);
  }
}

absl::Status setPercent(const json& value, envoy::type::v3::Percent& percent) {
  std::optional<double> v = decimalOf(value);
  if (!v) {
    return absl::InvalidArgumentError("healthyPanicThreshold is not a decimal");
  }
  percent.set_value(*v);
  return absl::OkStatus();
}

core_v3::HealthCheck buildHealthCheck(const json& conf) {
  core_v3::HealthCheck hc;
  *hc.mutable_timeout() =
      toDuration(durationMember(conf, "timeout").value_or(std::chrono::seconds(15)));
  *hc.mutable_interval() =
      toDuration(durationMember(conf, "interval").value_or(std::chrono::minutes(1)));
  if (auto d = durationMember(conf, "initialJitter")) {
    *hc.mutable_initial_jitter() = toDuration(*d);
  }
  if (auto d = durationMember(conf, "intervalJitter")) {
    *hc.mutable_interval_jitter() = toDuration(*d);
  }
  if (auto v = intAt(conf, "intervalJitterPercent")) {
    hc.set_interval_jitter_percent(static_cast<uint32_t>(*v));
  }
  hc.mutable_unhealthy_threshold()->set_value(
      static_cast<uint32_t>(intAt(conf, "unhealthyThreshold").value_or(5)));
  hc.mutable_healthy_threshold()->set_value(
      static_cast<uint32_t>(intAt(conf, "healthyThreshold").value_or(1)));
  if (const json* path = member(conf, "eventLogPath"); path != nullptr && path->is_string()) {
    auto* sink = hc.add_event_logger();
    sink->set_name(kFileSinkName);
    sink->mutable_typed_config()->set_type_url(kFileSinkType);
    sink->mutable_typed_config()->set_value(fileSinkBytes(path->get<std::string>()));
  }
  if (auto v = boolAt(conf, "alwaysLogHealthCheckFailures")) {
    hc.set_always_log_health_check_failures(*v);
  }
  if (auto d = durationMember(conf, "noTrafficInterval")) {
    *hc.mutable_no_traffic_interval() = toDuration(*d);
  }
  if (auto v = boolAt(conf, "reuseConnection")) {
    hc.mutable_reuse_connection()->set_value(*v);
  }
  return hc;
}

void tcpChecker(const json& tcp, core_v3::HealthCheck& hc) {
  auto* check = hc.mutable_tcp_health_check();
  if (const json* send = member(tcp, "send"); send != nullptr && send->is_string()) {
    check->mutable_send()->set_text(absl::BytesToHexString(send->get<std::string>()));
  }
  if (const json* receive = member(tcp, "receive"); receive != nullptr && receive->is_array()) {
    for (const json& r : *receive) {
      if (r.is_string()) {
        check->add_receive()->set_text(absl::BytesToHexString(r.get<std::string>()));
      }
    }
  }
}

void httpChecker(const json& http, xds::Protocol protocol, const std::string& tagsHeader,
                 core_v3::HealthCheck& hc) {
  auto* check = hc.mutable_http_health_check();
  const json* path = member(http, "path");
  check->set_path(path != nullptr && path->is_string() ? path->get<std::string>() : "/");
  if (!tagsHeader.empty()) {
    prependTagsHeader(tagsHeader, *check);
  }
  const json* modifier = member(http, "requestHeadersToAdd");
  addHeaders(modifier, "add", core_v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD, *check);
  addHeaders(modifier, "set", core_v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD, *check);
  if (const json* statuses = member(http, "expectedStatuses");
      statuses != nullptr && statuses->is_array()) {
    for (const json& s : *statuses) {
      if (s.is_number_integer()) {
        auto* range = check->add_expected_statuses();
        range->set_start(s.get<int64_t>());
        range->set_end(s.get<int64_t>() + 1);
      }
    }
  }
  check->set_codec_client_type(protocol == xds::Protocol::Http2 ? envoy::type::v3::HTTP2
                                                                : envoy::type::v3::HTTP1);
}

void grpcChecker(const json& grpc, core_v3::HealthCheck& hc) {
  auto* check = hc.mutable_grpc_health_check();
  check->set_service_name(stringAt(grpc, "serviceName"));
  check->set_authority(stringAt(grpc, "authority"));
}

}  // namespace

Checker selectChecker(xds::Protocol protocol, const json& conf) {
  const bool http = protocol == xds::Protocol::Http || protocol == xds::Protocol::Http2;
  const bool grpc = protocol == xds::Protocol::Grpc;
  const json* tcpConf = member(conf, "tcp");
  const json* httpConf = member(conf, "http");
  const json* grpcConf = member(conf, "grpc");
  if (http && enabled(httpConf)) {
    return Checker::Http;
  }
  if (grpc && enabled(grpcConf)) {
    return Checker::Grpc;
  }
  if (protocol == xds::Protocol::Tcp && enabled(tcpConf)) {
    return Checker::Tcp;
  }
  if (http && disabled(httpConf) && enabled(tcpConf)) {
    return Checker::Tcp;
  }
  if (grpc && disabled(grpcConf) && enabled(tcpConf)) {
    return Checker::Tcp;
  }
  return Checker::None;
}

absl::Status configureCluster(const json& conf, xds::Protocol protocol,
                              const std::string& tagsHeader, cluster_v3::Cluster& cluster) {
  if (!conf.is_object()) {
    return absl::OkStatus();
  }
  if (const json* panic = member(conf, "healthyPanicThreshold")) {
    if (absl::Status s = setPercent(
            *panic, *cluster.mutable_common_lb_config()->mutable_healthy_panic_threshold());
        !s.ok()) {
      return s;
    }
  }
  if (auto failOnPanic = boolAt(conf, "failTrafficOnPanic")) {
    auto* lb = cluster.mutable_common_lb_config();
    // Kuma does not use locality_weighted_lb_config (it ignores the setting there).
    if (!lb->has_locality_weighted_lb_config()) {
      lb->mutable_zone_aware_lb_config()->set_fail_traffic_on_panic(*failOnPanic);
    }
  }
  const Checker checker = selectChecker(protocol, conf);
  if (checker == Checker::None) {
    return absl::OkStatus();
  }
  core_v3::HealthCheck hc = buildHealthCheck(conf);
  switch (checker) {
    case Checker::Tcp:
      tcpChecker(*member(conf, "tcp"), hc);
      break;
    case Checker::Http:
      httpChecker(*member(conf, "http"), protocol, tagsHeader, hc);
      break;
    case Checker::Grpc:
      grpcChecker(*member(conf, "grpc"), hc);
      break;
    case Checker::None:
      break;
  }
  *cluster.add_health_checks() = std::move(hc);
  return absl::OkStatus();
}

std::string serviceFromClusterName(const std::string& name) {
  // (.*)-[[:xdigit:]]{16}$
  constexpr size_t kHex = 16;
  if (name.size() < kHex + 1 || name[name.size() - kHex - 1] != '-') {
    return name;
  }
  for (size_t i = name.size() - kHex; i < name.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) {
      return name;
    }
  }
  return name.substr(0, name.size() - kHex - 1);
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshHealthCheck";
}

int XdsConfigurer::order() const {
  return 1200;  // Kuma's MeshHealthCheck order
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf,
                                                       const xds::OutboundTarget& target,
                                                       xds::OutboundResources& resources) const {
  for (auto& cluster : resources.clusters) {
    if (absl::Status s = configureCluster(conf, target.protocol, "", *cluster); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return absl::OkStatus();
  }
  std::vector<trafficroute::Tags> inboundTags;
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
    }
  }
  const std::string tags = trafficroute::tagsHeader(inboundTags);
  if (tags.empty()) {
    return absl::OkStatus();
  }
  const std::string type = xds::ResourceSet::typeUrlOf<cluster_v3::Cluster>();
  for (const std::string& name : resources.names(type)) {
    // Only the clusters whose destination conf gives an HTTP check (the others are not copied).
    const std::string service = serviceFromClusterName(name);
    const json conf = mergeDestinationConf(specs, service);
    if (conf.is_null() || selectChecker(proxy.mesh->protocol(service), conf) != Checker::Http) {
      continue;
    }
    auto* cluster = resources.find<cluster_v3::Cluster>(name);
    if (cluster == nullptr) {
      continue;
    }
    for (auto& hc : *cluster->mutable_health_checks()) {
      if (hc.has_http_health_check()) {
        prependTagsHeader(tags, *hc.mutable_http_health_check());
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshhealthcheck
