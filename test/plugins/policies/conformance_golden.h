#pragma once

// File: conformance_golden.h
// Unit-test helpers that generate a proxy from a conformance case's fixtures
// (tools/conformance/cases/<case>/) and compare the fields a plugin owns with Kuma 2.14.3's
// values, cut out of the oracle's dump by tools/conformance/extract_golden.py into the policy
// folder's testdata/conformance-<case>.xds.json (docs/conformance.md).
//
//   ConformanceCase c = loadConformanceCase("meshhealthcheck");
//   GeneratedResources out = c.generate("web");
//   expectClusterFields(c, out, readJson(".../testdata/conformance-meshhealthcheck.xds.json"));

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds::testing {

inline std::filesystem::path sourceRoot() {
  const char* root = std::getenv("KUMA_SOURCE_DIR");
  return root != nullptr ? std::filesystem::path(root) : std::filesystem::current_path();
}

inline std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << path;
  return ss.str();
}

inline nlohmann::json readJson(const std::filesystem::path& path) {
  return nlohmann::json::parse(readText(path));
}

/** A case's resources with its `{{port:LABEL}}` placeholders replaced by fixed ports. */
struct ConformanceCase {
  std::vector<std::string> yamls;    // every resource, proxy.yaml's last
  std::map<std::string, int> ports;  // label → port

  /** `name` with every assigned port written back as `<port:LABEL>` (Kuma's normalised names). */
  std::string normalise(std::string name) const {
    for (const auto& [label, port] : ports) {
      name = std::regex_replace(name, std::regex(absl::StrCat("\\b", port, "\\b")),
                                absl::StrCat("<port:", label, ">"));
    }
    return name;
  }

  GeneratedResources generate(const std::string& proxy) const {
    auto ctx = MeshContext::build(meshResources(yamls));
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    if (!ctx.ok()) {
      return {};
    }
    ProxyOptions options;
    options.zone = "default";
    auto out = xds::generate(**ctx, *dataplaneOf(**ctx, proxy), withPlugins(options));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *std::move(out) : GeneratedResources{};
  }
};

/**
 * The case's numbered YAML files and proxy.yaml, `---`-separated documents, ports assigned in
 * order of appearance from 21000. Inbound `kuma.io/service` tags get `kuma.io/zone: default` next
 * to them, as the control plane's store adds it (the proxy's tags reach Envoy in `x-kuma-tags`).
 */
inline ConformanceCase loadConformanceCase(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = sourceRoot() / "tools/conformance/cases" / name;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml" && entry.path().filename() != "proxy.yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  files.push_back(dir / "proxy.yaml");
  ConformanceCase c;
  // A mesh created normally gets the control plane's default policies.
  if (readText(dir / "00-mesh.yaml").find("skipCreatingInitialPolicies") == std::string::npos) {
    c.yamls = defaultPolicyYamls();
  }
  const std::regex placeholder(R"(\{\{port:([A-Za-z0-9_.-]+)\}\})");
  const std::regex service(R"(^(\s+)kuma\.io/service: .*$)");
  for (const fs::path& file : files) {
    std::string text = readText(file);
    std::string replaced;
    std::smatch m;
    while (std::regex_search(text, m, placeholder)) {
      auto [it, added] = c.ports.emplace(m[1].str(), 21000 + static_cast<int>(c.ports.size()));
      replaced += m.prefix().str() + std::to_string(it->second);
      text = m.suffix().str();
    }
    replaced += text;
    std::string withZone;
    bool inbound = false;  // inside `inbound:` (not `outbound:`)
    for (const auto& line : absl::StrSplit(replaced, '\n')) {
      withZone += std::string(line) + "\n";
      std::smatch sm;
      const std::string l(line);
      if (std::regex_match(l, std::regex(R"(^\s*(out|in)bound:\s*$)"))) {
        inbound = l.find("outbound") == std::string::npos;
      }
      if (inbound && std::regex_match(l, sm, service)) {
        withZone += sm[1].str() + "kuma.io/zone: default\n";
      }
    }
    for (const auto& doc : absl::StrSplit(withZone, "\n---\n")) {
      if (doc.find("type:") != absl::string_view::npos) {
        c.yamls.emplace_back(doc);
      }
    }
  }
  return c;
}

/** Proto JSON with the proto field names (as Envoy's config dump), Any members expanded. */
inline nlohmann::json protoJson(const google::protobuf::Message& message) {
  static google::protobuf::util::TypeResolver* resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                               &envoyDescriptorPool());
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::BinaryToJsonString(
      resolver, absl::StrCat("type.googleapis.com/", message.GetDescriptor()->full_name()),
      message.SerializeAsString(), &json, options);
  EXPECT_TRUE(status.ok()) << status;
  return status.ok() ? nlohmann::json::parse(json) : nlohmann::json();
}

/** Every cluster of golden["clusters"]: the listed fields equal, the absent ones absent too. */
inline void expectClusterFields(const ConformanceCase& c, const GeneratedResources& out,
                                const nlohmann::json& golden,
                                const std::vector<std::string>& keys) {
  std::map<std::string, std::string> byNormalName;
  for (const std::string& name : namesOf(out, kClusterType)) {
    byNormalName[c.normalise(name)] = name;
  }
  ASSERT_TRUE(golden.contains("clusters"));
  for (const auto& [name, fields] : golden["clusters"].items()) {
    SCOPED_TRACE(name);
    auto it = byNormalName.find(name);
    ASSERT_NE(it, byNormalName.end())
        << "no cluster " << name << " among " << nlohmann::json(byNormalName).dump();
    const nlohmann::json actual =
        protoJson(decode<envoy::config::cluster::v3::Cluster>(out, kClusterType, it->second));
    for (const std::string& key : keys) {
      EXPECT_EQ(actual.value(key, nlohmann::json()), fields.value(key, nlohmann::json()))
          << key << " of " << name;
    }
  }
}

/**
 * Every outbound listener of golden["routes"] (route fields per route, in order) and
 * golden["tcp"] (tcp_proxy fields).
 */
inline void expectOutboundFields(const ConformanceCase& c, const GeneratedResources& out,
                                 const nlohmann::json& golden,
                                 const std::vector<std::string>& routeKeys) {
  namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
  namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
  std::map<std::string, std::string> byNormalName;
  for (const std::string& name : namesOf(out, kListenerType)) {
    byNormalName[c.normalise(name)] = name;
  }
  const auto listener = [&](const std::string& name) {
    auto it = byNormalName.find(name);
    EXPECT_NE(it, byNormalName.end()) << "no listener " << name;
    return it == byNormalName.end()
               ? envoy::config::listener::v3::Listener()
               : decode<envoy::config::listener::v3::Listener>(out, kListenerType, it->second);
  };
  const nlohmann::json allRoutes =
      golden.contains("routes") ? golden["routes"] : nlohmann::json::object();
  const nlohmann::json allTcp = golden.contains("tcp") ? golden["tcp"] : nlohmann::json::object();
  for (const auto& [name, routes] : allRoutes.items()) {
    SCOPED_TRACE(name);
    const auto l = listener(name);
    ASSERT_GT(l.filter_chains_size(), 0);
    hcm_v3::HttpConnectionManager hcm;
    ASSERT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
    nlohmann::json actual = nlohmann::json::array();
    for (const auto& vh : hcm.route_config().virtual_hosts()) {
      for (const auto& r : vh.routes()) {
        nlohmann::json action = protoJson(r.route());
        nlohmann::json fields = nlohmann::json::object();
        for (const std::string& key : routeKeys) {
          if (action.contains(key)) {
            fields[key] = action[key];
          }
        }
        actual.push_back(fields);
      }
    }
    EXPECT_EQ(actual, routes);
  }
  for (const auto& [name, fields] : allTcp.items()) {
    SCOPED_TRACE(name);
    const auto l = listener(name);
    ASSERT_GT(l.filter_chains_size(), 0);
    tcp_v3::TcpProxy tcp;
    ASSERT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&tcp));
    const nlohmann::json actual = protoJson(tcp);
    for (const auto& [key, value] : fields.items()) {
      EXPECT_EQ(actual.value(key, nlohmann::json()), value) << key;
    }
  }
}

}  // namespace kuma::xds::testing
