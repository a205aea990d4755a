#include "source/xds/bootstrap/request.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"

namespace kuma::xds::bootstrap {
namespace {

absl::Status wrongType(const std::string& key, const char* expected) {
  return absl::InvalidArgumentError(absl::StrCat("field \"", key, "\" must be ", expected));
}

absl::Status readString(const nlohmann::json& obj, const std::string& key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return absl::OkStatus();
  }
  if (!it->is_string()) {
    return wrongType(key, "a string");
  }
  out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status readBool(const nlohmann::json& obj, const std::string& key, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return absl::OkStatus();
  }
  if (!it->is_boolean()) {
    return wrongType(key, "a boolean");
  }
  out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status readPort(const nlohmann::json& obj, const std::string& key, uint32_t& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return absl::OkStatus();
  }
  if (!it->is_number_unsigned()) {
    return wrongType(key, "an unsigned integer");
  }
  const uint64_t v = it->get<uint64_t>();
  if (v > 0xffffffffULL) {
    return wrongType(key, "a 32-bit unsigned integer");
  }
  out = static_cast<uint32_t>(v);
  return absl::OkStatus();
}

absl::Status readObject(const nlohmann::json& obj, const std::string& key, nlohmann::json& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return absl::OkStatus();
  }
  if (!it->is_object()) {
    return wrongType(key, "an object");
  }
  out = *it;
  return absl::OkStatus();
}

absl::Status readNestedString(const nlohmann::json& obj, const std::string& key,
                              const std::string& inner, std::string& out) {
  nlohmann::json nested;
  if (absl::Status s = readObject(obj, key, nested); !s.ok()) {
    return s;
  }
  if (nested.is_null()) {
    return absl::OkStatus();
  }
  return readString(nested, inner, out);
}

}  // namespace

bool BootstrapRequest::hasFeature(std::string_view feature) const {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

absl::StatusOr<BootstrapRequest> parseBootstrapRequest(std::string_view body) {
  auto parsed = common::parseJson(body);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request body is not valid JSON: ", parsed.status().message()));
  }
  nlohmann::json doc = std::move(*parsed);
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  BootstrapRequest r;
  std::vector<absl::Status> results = {
      readString(doc, "mesh", r.mesh),
      readString(doc, "name", r.name),
      readString(doc, "proxyType", r.proxyType),
      readString(doc, "dataplaneToken", r.dataplaneToken),
      readString(doc, "dataplaneTokenPath", r.dataplaneTokenPath),
      readString(doc, "dataplaneResource", r.dataplaneResource),
      readObject(doc, "version", r.version),
      readString(doc, "caCert", r.caCert),
      readObject(doc, "dynamicMetadata", r.dynamicMetadata),
      readObject(doc, "otelEnv", r.otelEnv),
      readPort(doc, "dnsPort", r.dnsPort),
      readPort(doc, "readinessPort", r.readinessPort),
      readBool(doc, "appProbeProxyDisabled", r.appProbeProxyEnabled),
      readString(doc, "operatingSystem", r.operatingSystem),
      readString(doc, "workdir", r.workdir),
      readNestedString(doc, "metricsResources", "certPath", r.metricsCertPath),
      readNestedString(doc, "metricsResources", "keyPath", r.metricsKeyPath),
      readString(doc, "systemCaPath", r.systemCaPath),
      readObject(doc, "dataplaneConfig", r.dataplaneConfig),
      readBool(doc, "ipv6Enabled", r.ipv6Enabled),
      readNestedString(doc, "spireResources", "socketPath", r.spireSocketPath),
  };
  for (const absl::Status& s : results) {
    if (!s.ok()) {
      return s;
    }
  }
  if (auto it = doc.find("features"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) {
      return wrongType("features", "an array of strings");
    }
    for (const auto& f : *it) {
      if (!f.is_string()) {
        return wrongType("features", "an array of strings");
      }
      r.features.push_back(f.get<std::string>());
    }
  }
  if (r.proxyType.empty()) {
    r.proxyType = "dataplane";
  }
  return r;
}

}  // namespace kuma::xds::bootstrap
