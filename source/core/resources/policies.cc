#include "source/core/resources/policies.h"

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/core/resources/validation_helpers.h"

namespace kuma::resources {
namespace {

using namespace mesh::v1alpha1;  // NOLINT: every message of this file lives there

constexpr std::string_view kHasToBeDefined = "has to be defined";

// Sources of most legacy policies: at least one selector, each with a service tag.
SelectorsOptions serviceSources() {
  SelectorsOptions options;
  options.requireAtLeastOneSelector = true;
  options.tags.requireAtLeastOneTag = true;
  options.tags.requireService = true;
  return options;
}

template <typename Policy>
void validateSourcesAndDestinations(const Policy& spec, ValidationError& errors) {
  validateSelectors(PathBuilder("sources"), spec.sources(), serviceSources(), errors);
  validateSelectors(PathBuilder("destinations"), spec.destinations(), onlyServiceTagAllowed(),
                    errors);
}

bool isZero(const google::protobuf::Duration& d) {
  return d.seconds() == 0 && d.nanos() == 0;
}

void validateSelectorMap(const PathBuilder& path, const TagMap& selector, ValidationError& errors) {
  TagsOptions options;
  options.selector = true;
  options.requireAtLeastOneTag = true;
  options.requireService = true;
  validateTags(path, selector, options, errors);
}

void validateSplitAndDestination(
    const PathBuilder& path, const google::protobuf::RepeatedPtrField<TrafficRoute::Split>& split,
    const TagMap& destination, ValidationError& errors) {
  if (split.empty() && destination.empty()) {
    errors.addViolationAt(path, "requires either \"destination\" or \"split\"");
  }
  if (!split.empty() && !destination.empty()) {
    errors.addViolationAt(path, "\"split\" cannot be defined at the same time as \"destination\"");
  }
  if (!split.empty()) {
    uint64_t total = 0;
    for (int i = 0; i < split.size(); ++i) {
      const PathBuilder at = path.field("split").index(i);
      if (!split.Get(i).has_weight()) {
        errors.addViolationAt(at.field("weight"), "needs to be defined");
      }
      total += split.Get(i).weight().value();
      validateSelectorMap(at.field("destination"), split.Get(i).destination(), errors);
    }
    if (total == 0) {
      errors.addViolationAt(path.field("split"),
                            "there must be at least one split entry with weight above 0");
    }
  }
  if (!destination.empty()) {
    validateSelectorMap(path.field("destination"), destination, errors);
  }
}

void validateStringMatcher(const PathBuilder& path,
                           const TrafficRoute::Http::Match::StringMatcher& matcher,
                           ValidationError& errors) {
  using M = TrafficRoute::Http::Match::StringMatcher;
  switch (matcher.matcher_type_case()) {
    case M::kExact:
      break;
    case M::kPrefix:
      if (matcher.prefix().empty()) {
        errors.addViolationAt(path.field("prefix"), "cannot be empty");
      }
      break;
    case M::kRegex:
      if (matcher.regex().empty()) {
        errors.addViolationAt(path.field("regex"), "cannot be empty");
      }
      break;
    default:
      errors.addViolationAt(
          path, "cannot be empty. Available options: \"exact\", \"split\" or \"regex\"");
  }
}

void validateHeaderName(const PathBuilder& path, const std::string& name, ValidationError& errors) {
  if (name.empty()) {
    errors.addViolationAt(path, "cannot be empty");
    return;
  }
  if (name.front() == ':' || name == "host" || name == "Host") {
    errors.addViolationAt(path,
                          "host header and HTTP/2 pseudo-headers are not allowed to be modified");
  }
}

void validateHeaders(const PathBuilder& path, const TrafficRoute::Http::Modify::Headers& headers,
                     ValidationError& errors) {
  for (int i = 0; i < headers.add_size(); ++i) {
    const PathBuilder at = path.field("add").index(i);
    validateHeaderName(at.field("name"), headers.add(i).name(), errors);
    if (headers.add(i).value().empty()) {
      errors.addViolationAt(at.field("value"), "cannot be empty");
    }
  }
  for (int i = 0; i < headers.remove_size(); ++i) {
    validateHeaderName(path.field("remove").index(i).field("name"), headers.remove(i).name(),
                       errors);
  }
}

void validateRouteHttp(const PathBuilder& path, const TrafficRoute::Http& http,
                       ValidationError& errors) {
  const auto& match = http.match();
  const PathBuilder matchPath = path.field("match");
  if (!match.has_path() && !match.has_method() && match.headers().empty()) {
    errors.addViolationAt(matchPath,
                          "must be present and contain at least one of the elements: "
                          "\"method\", \"path\" or \"headers\"");
  } else {
    if (match.has_method()) {
      validateStringMatcher(matchPath.field("method"), match.method(), errors);
    }
    if (match.has_path()) {
      validateStringMatcher(matchPath.field("path"), match.path(), errors);
    }
    std::vector<std::string> keys;
    for (const auto& [k, _] : match.headers()) {
      keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      const PathBuilder at = matchPath.field("headers").key(key);
      if (key.empty()) {
        errors.addViolationAt(at, "cannot be empty");
      }
      validateStringMatcher(at, match.headers().at(key), errors);
    }
  }
  if (http.has_modify()) {
    const auto& modify = http.modify();
    const PathBuilder at = path.field("modify");
    if (modify.has_path()) {
      using P = TrafficRoute::Http::Modify::Path;
      const PathBuilder p = at.field("path");
      switch (modify.path().type_case()) {
        case P::kRewritePrefix:
          if (modify.path().rewrite_prefix().empty()) {
            errors.addViolationAt(p.field("rewritePrefix"), "cannot be empty");
          } else if (match.path().prefix().empty()) {
            errors.addViolationAt(p.field("rewritePrefix"),
                                  "can only be set when .http.match.path.prefix is not empty");
          }
          break;
        case P::kRegex:
          if (modify.path().regex().pattern().empty()) {
            errors.addViolationAt(p.field("regex").field("pattern"), "cannot be empty");
          }
          if (modify.path().regex().substitution().empty()) {
            errors.addViolationAt(p.field("regex").field("substitution"), "cannot be empty");
          }
          break;
        default:
          errors.addViolationAt(p, "either \"rewritePrefix\" or \"regex\" has to be set");
      }
    }
    if (modify.has_host()) {
      using H = TrafficRoute::Http::Modify::Host;
      const PathBuilder h = at.field("host");
      switch (modify.host().type_case()) {
        case H::kValue:
          if (modify.host().value().empty()) {
            errors.addViolationAt(h.field("value"), "cannot be empty");
          }
          break;
        case H::kFromPath:
          if (modify.host().from_path().pattern().empty()) {
            errors.addViolationAt(h.field("fromPath").field("pattern"), "cannot be empty");
          }
          if (modify.host().from_path().substitution().empty()) {
            errors.addViolationAt(h.field("fromPath").field("substitution"), "cannot be empty");
          }
          break;
        default:
          errors.addViolationAt(h, "either \"value\" or \"fromPath\" has to be set");
      }
    }
    if (modify.has_request_headers()) {
      validateHeaders(at.field("requestHeaders"), modify.request_headers(), errors);
    }
    if (modify.has_response_headers()) {
      validateHeaders(at.field("responseHeaders"), modify.response_headers(), errors);
    }
  }
  validateSplitAndDestination(path, http.split(), http.destination(), errors);
}

void validateBackOff(const PathBuilder& path, const Retry::Conf::BackOff& backOff,
                     ValidationError& errors) {
  if (!backOff.has_base_interval()) {
    errors.addViolationAt(path.field("baseInterval"), kHasToBeDefined);
  } else if (isZero(backOff.base_interval())) {
    errors.addViolationAt(path.field("baseInterval"), "has to be greater than 0");
  } else if (backOff.has_max_interval() && isZero(backOff.max_interval())) {
    errors.addViolationAt(path.field("maxInterval"), "has to be greater than 0 when defined");
  }
}

}  // namespace

void validateTrafficPermission(const TrafficPermission& spec, ValidationError& errors) {
  SelectorsOptions sources;
  sources.requireAtLeastOneSelector = true;
  sources.tags.requireAtLeastOneTag = true;
  SelectorsOptions destinations = sources;
  destinations.tags.requireService = true;
  validateSelectors(PathBuilder("sources"), spec.sources(), sources, errors);
  validateSelectors(PathBuilder("destinations"), spec.destinations(), destinations, errors);
}

void validateTrafficRoute(const TrafficRoute& spec, ValidationError& errors) {
  validateSourcesAndDestinations(spec, errors);
  const PathBuilder conf("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(conf, "cannot be empty");
    return;
  }
  validateSplitAndDestination(conf, spec.conf().split(), spec.conf().destination(), errors);
  for (int i = 0; i < spec.conf().http_size(); ++i) {
    validateRouteHttp(conf.field("http").index(i), spec.conf().http(i), errors);
  }
  if (spec.conf().load_balancer().has_ring_hash()) {
    const std::string& fn = spec.conf().load_balancer().ring_hash().hash_function();
    if (fn != "XX_HASH" && fn != "MURMUR_HASH_2") {
      errors.addViolation("conf.loadBalancer.ringHash.hashFunction",
                          "must have a valid hash function");
    }
  }
}

void validateHealthCheck(const HealthCheck& spec, ValidationError& errors) {
  validateSourcesAndDestinations(spec, errors);
  const PathBuilder conf("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(conf, kHasToBeDefined);
    return;
  }
  const auto& c = spec.conf();
  if (!c.has_interval()) {
    errors.addViolationAt(conf.field("interval"), "must have a positive value");
  } else {
    validateDuration(conf.field("interval"), c.interval(), errors);
  }
  if (!c.has_timeout()) {
    errors.addViolationAt(conf.field("timeout"), "must have a positive value");
  } else {
    validateDuration(conf.field("timeout"), c.timeout(), errors);
  }
  if (c.unhealthy_threshold() == 0) {
    errors.addViolationAt(conf.field("unhealthyThreshold"), "must have a positive value");
  }
  if (c.healthy_threshold() == 0) {
    errors.addViolationAt(conf.field("healthyThreshold"), "must have a positive value");
  }
  if (c.interval_jitter_percent() > 100) {
    errors.addViolationAt(conf.field("intervalJitterPercent"), "must be in range [0, 100]");
  }
  if (c.has_healthy_panic_threshold() &&
      (c.healthy_panic_threshold().value() < 0 || c.healthy_panic_threshold().value() > 100)) {
    errors.addViolationAt(conf.field("healthyPanicThreshold"), "must be in range [0.0, 100.0]");
  }
}

void validateCircuitBreaker(const CircuitBreaker& spec, ValidationError& errors) {
  validateSourcesAndDestinations(spec, errors);
  const PathBuilder conf("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(conf, kHasToBeDefined);
    return;
  }
  const auto& c = spec.conf();
  if (c.has_interval()) {
    validateDuration(conf.field("interval"), c.interval(), errors);
  }
  if (c.has_base_ejection_time()) {
    validateDuration(conf.field("baseEjectionTime"), c.base_ejection_time(), errors);
  }
  if (c.has_max_ejection_percent() && c.max_ejection_percent().value() > 100) {
    errors.addViolationAt(conf.field("maxEjectionPercent"), "has to be in [0 - 100] range");
  }
  if (c.detectors().has_failure() && c.detectors().failure().has_threshold() &&
      c.detectors().failure().threshold().value() > 100) {
    errors.addViolationAt(conf.field("detectors").field("failure").field("threshold"),
                          "has to be in [0 - 100] range");
  }
}

void validateTimeout(const Timeout& spec, ValidationError& errors) {
  validateSourcesAndDestinations(spec, errors);
  if (!spec.has_conf()) {
    errors.addViolation("conf", kHasToBeDefined);
  }
}

void validateRetry(const Retry& spec, ValidationError& errors) {
  validateSourcesAndDestinations(spec, errors);
  const PathBuilder conf("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(conf, kHasToBeDefined);
    return;
  }
  const auto& c = spec.conf();
  if (!c.has_http() && !c.has_grpc() && !c.has_tcp()) {
    errors.addViolationAt(conf, "missing protocol [grpc|http|tcp] configuration");
    return;
  }
  if (c.has_http()) {
    const PathBuilder p = conf.field("http");
    const auto& h = c.http();
    if (!h.has_num_retries() && !h.has_per_try_timeout() && !h.has_back_off() &&
        h.retriable_status_codes().empty() && h.retriable_methods().empty()) {
      errors.addViolationAt(p, "field cannot be empty");
    }
    if (h.has_num_retries() && h.num_retries().value() == 0) {
      errors.addViolationAt(p.field("numRetries"), "has to be greater than 0 when defined");
    }
    if (h.has_per_try_timeout() && isZero(h.per_try_timeout())) {
      errors.addViolationAt(p.field("perTryTimeout"), "has to be greater than 0 when defined");
    }
    if (h.has_back_off()) {
      validateBackOff(p.field("backOff"), h.back_off(), errors);
    }
    for (int i = 0; i < h.retriable_methods_size(); ++i) {
      if (h.retriable_methods(i) == NONE) {
        errors.addViolationAt(p.field("retriableMethods").index(i), "field cannot be empty");
      }
    }
  }
  if (c.has_grpc()) {
    const PathBuilder p = conf.field("grpc");
    const auto& g = c.grpc();
    if (!g.has_num_retries() && !g.has_per_try_timeout() && !g.has_back_off() &&
        g.retry_on().empty()) {
      errors.addViolationAt(p, "field cannot be empty");
    }
    std::map<std::string, std::vector<int>> seen;
    for (int i = 0; i < g.retry_on_size(); ++i) {
      seen[Retry::Conf::Grpc::RetryOn_Name(g.retry_on(i))].push_back(i);
    }
    for (const auto& [name, indexes] : seen) {
      if (indexes.size() > 1) {
        errors.addViolationAt(p.field("retryOn"),
                              absl::StrCat("repeated value \"", name, "\" at indexes [",
                                           absl::StrJoin(indexes, ", "), "]"));
      }
    }
    if (g.has_num_retries() && g.num_retries().value() == 0) {
      errors.addViolationAt(p.field("numRetries"), "has to be greater than 0 when defined");
    }
    if (g.has_per_try_timeout() && isZero(g.per_try_timeout())) {
      errors.addViolationAt(p.field("perTryTimeout"), "has to be greater than 0 when defined");
    }
    if (g.has_back_off()) {
      validateBackOff(p.field("backOff"), g.back_off(), errors);
    }
  }
  if (c.has_tcp() && c.tcp().max_connect_attempts() == 0) {
    errors.addViolationAt(conf.field("tcp").field("maxConnectAttempts"),
                          "has to be greater than 0");
  }
}

void validateSecret(const Secret& spec, ValidationError& errors) {
  if (!spec.has_data() || spec.data().value().empty()) {
    errors.addViolation("data", "cannot be empty");
  }
}

void validateExternalService(const ExternalService& spec, ValidationError& errors) {
  const PathBuilder net("networking");
  if (!spec.has_networking()) {
    errors.addViolationAt(net, "should have networking");
  } else {
    const std::string& address = spec.networking().address();
    const PathBuilder at = net.field("address");
    std::string host;
    std::string port;
    uint32_t portNumber = 0;
    if (address.empty()) {
      errors.addViolationAt(at, "address can't be empty");
    } else if (!splitHostPort(address, host, port) || host.empty()) {
      errors.addViolationAt(at, "address has to be in format of HOST:PORT");
    } else {
      if (!isIp(host) && !isDnsName(host)) {
        errors.addViolationAt(at, "address has to be valid IP address or domain name");
      }
      if (!absl::SimpleAtoi(port, &portNumber) || portNumber == 0 || portNumber > 65535) {
        errors.addViolationAt(at, "port must be in the range [1, 65535]");
      }
    }
    const auto& tls = spec.networking().tls();
    if (tls.has_client_cert() != tls.has_client_key()) {
      errors.addViolationAt(net.field("tls"),
                            "clientCert and clientKey have to be defined together");
    }
  }
  TagsOptions options;
  options.requireService = true;
  validateTags(PathBuilder("tags"), spec.tags(), options, errors);
}

namespace {

// Go's http.StatusText knows these codes; Kuma refuses the others.
bool knownHttpStatus(uint32_t code) {
  static const std::set<uint32_t> kKnown = {
      100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301,
      302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409,
      410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428,
      429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511};
  return kKnown.contains(code);
}

template <typename Fault>
void validateFaultPercentage(const PathBuilder& path, const Fault& fault, ValidationError& errors) {
  if (!fault.has_percentage()) {
    errors.addViolationAt(path.field("percentage"), "cannot be empty");
    return;
  }
  const double v = fault.percentage().value();
  if (v < 0.0 || v > 100.0) {
    errors.addViolationAt(path.field("percentage"), "has to be in [0.0 - 100.0] range");
  }
}

// Kuma's Has* of a fault: present and not an empty message.
template <typename Fault>
bool hasFault(bool present, const Fault& fault) {
  return present && fault.ByteSizeLong() > 0;
}

}  // namespace

void validateFaultInjection(const FaultInjection& spec, ValidationError& errors) {
  SelectorsOptions sources;
  sources.requireAtLeastOneSelector = true;
  sources.tags.requireAtLeastOneTag = true;
  validateSelectors(PathBuilder("sources"), spec.sources(), sources, errors);
  SelectorsOptions destinations = sources;
  // Kuma's ProtocolValidator(HTTPBasedProtocols).
  destinations.tags.extra.push_back(
      [](const PathBuilder& path, const TagMap& selector, ValidationError& errs) {
        auto it = selector.find(std::string(kProtocolTag));
        if (it == selector.end()) {
          errs.addViolationAt(path, "protocol must be specified");
          return;
        }
        const std::string p = absl::AsciiStrToLower(it->second);
        if (p != "http" && p != "http2" && p != "grpc") {
          errs.addViolationAt(path.key(std::string(kProtocolTag)),
                              "must be one of the [http, http2, grpc]");
        }
      });
  validateSelectors(PathBuilder("destinations"), spec.destinations(), destinations, errors);

  const PathBuilder root("conf");
  const auto& conf = spec.conf();
  const bool delay = hasFault(conf.has_delay(), conf.delay());
  const bool abort = hasFault(conf.has_abort(), conf.abort());
  const bool bandwidth = hasFault(conf.has_response_bandwidth(), conf.response_bandwidth());
  if (!delay && !abort && !bandwidth) {
    errors.addViolationAt(root, "must have at least one of the faults configured");
  }
  if (delay) {
    const PathBuilder path = root.field("delay");
    validateFaultPercentage(path, conf.delay(), errors);
    if (!conf.delay().has_value()) {
      errors.addViolationAt(path.field("value"), "cannot be empty");
    }
  }
  if (abort) {
    const PathBuilder path = root.field("abort");
    validateFaultPercentage(path, conf.abort(), errors);
    if (!conf.abort().has_httpstatus()) {
      errors.addViolationAt(path.field("httpStatus"), "cannot be empty");
    } else if (!knownHttpStatus(conf.abort().httpstatus().value())) {
      errors.addViolationAt(path.field("httpStatus"), "http status code is incorrect");
    }
  }
  if (bandwidth) {
    const PathBuilder path = root.field("responseBandwidth");
    validateFaultPercentage(path, conf.response_bandwidth(), errors);
    if (!conf.response_bandwidth().has_limit()) {
      errors.addViolationAt(path.field("limit"), "cannot be empty");
    } else {
      static const std::regex kLimit(R"(\d*\s?[gmk]bps)");
      if (!std::regex_search(conf.response_bandwidth().limit().value(), kLimit)) {
        errors.addViolationAt(path.field("limit"), "has to be in kbps/mbps/gbps units");
      }
    }
  }
}

void validateTrafficTrace(const TrafficTrace& spec, ValidationError& errors) {
  // The conf and its backend may be empty: the Mesh's default backend.
  SelectorsOptions selectors;
  selectors.requireAtLeastOneSelector = true;
  selectors.tags.requireAtLeastOneTag = true;
  validateSelectors(PathBuilder("selectors"), spec.selectors(), selectors, errors);
}

void validateRateLimit(const RateLimit& spec, ValidationError& errors) {
  SelectorsOptions selectors;
  selectors.requireAtLeastOneSelector = true;
  selectors.tags.requireAtLeastOneTag = true;
  validateSelectors(PathBuilder("sources"), spec.sources(), selectors, errors);
  validateSelectors(PathBuilder("destinations"), spec.destinations(), selectors, errors);
  const PathBuilder root("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(root, "must have conf");
  }
  if (!spec.conf().has_http()) {
    return;
  }
  const PathBuilder path = root.field("http");
  const auto& http = spec.conf().http();
  if (http.requests() == 0) {
    errors.addViolationAt(path.field("requests"), "requests must be set");
  }
  if (!http.has_interval()) {
    errors.addViolationAt(path.field("interval"), "interval must be set");
  }
  // Kuma's path: `onRateLimit.header["<i>"]` (Field("header").Key(index)).
  const PathBuilder headers = path.field("onRateLimit").field("header");
  for (int i = 0; i < http.onratelimit().headers_size(); ++i) {
    const auto& header = http.onratelimit().headers(i);
    if (header.key().empty()) {
      errors.addViolationAt(headers.key(std::to_string(i)), "key must be set");
    }
    if (header.value().empty()) {
      errors.addViolationAt(headers.key(std::to_string(i)), "value must be set");
    }
  }
}

namespace {

// Kuma's rule for RateLimits on ExternalServices: a destination selector that selects one of
// them (kuma.io/service naming it, or `*`) must not select by other tags too.
template <class SelectsService>
bool mixesServiceWithOtherTags(const Selector& destination, SelectsService selectsService) {
  bool nonService = false;
  bool service = false;
  for (const auto& [tag, value] : destination.match()) {
    if (tag == kServiceTag) {
      service = service || value == "*" || selectsService(value);
    } else {
      nonService = true;
    }
  }
  return service && nonService;
}

}  // namespace

void validateRateLimitForExternalServices(const RateLimit& spec,
                                          const std::set<std::string>& externalServices,
                                          ValidationError& errors) {
  if (externalServices.empty()) {
    return;
  }
  for (const auto& destination : spec.destinations()) {
    if (mixesServiceWithOtherTags(destination, [&](const std::string& value) {
          return externalServices.contains(value);
        })) {
      errors.addViolation("ratelimit",
                          "RateLimit applied to external service only supports kuma.io/service "
                          "as destination match");
    }
  }
}

void validateExternalServiceForRateLimits(
    const std::string& service,
    const std::vector<std::pair<std::string, const RateLimit*>>& rateLimits,
    ValidationError& errors) {
  for (const auto& [name, spec] : rateLimits) {
    for (const auto& destination : spec->destinations()) {
      if (mixesServiceWithOtherTags(destination,
                                    [&](const std::string& value) { return value == service; })) {
        errors.addViolation("externalservice",
                            absl::StrCat("ExternalService would match RateLimit '", name,
                                         "' which includes incompatible "
                                         "destination matches"));
      }
    }
  }
}

void validateTrafficLog(const TrafficLog& spec, ValidationError& errors) {
  // The conf and its backend may be empty: the Mesh's default backend.
  SelectorsOptions sources;
  sources.requireAtLeastOneSelector = true;
  sources.tags.requireService = true;
  sources.tags.requireAtLeastOneTag = true;
  validateSelectors(PathBuilder("sources"), spec.sources(), sources, errors);
  validateSelectors(PathBuilder("destinations"), spec.destinations(), onlyServiceTagAllowed(),
                    errors);
}

}  // namespace kuma::resources
