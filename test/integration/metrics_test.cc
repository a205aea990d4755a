// End to end: kuma-cp's /metrics on the diagnostics port, with one real Envoy connected, parsed
// by the reference Python Prometheus client's text parser (and checked for Kuma's exact family
// names and types, spec §13.2).
#include <cstdio>

#include "test/core/metrics/metrics_text.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

// Reads exposition text on stdin, prints [{name, type, samples: [{name, labels, value}]}].
constexpr char kParser[] = R"PY(
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [
        {"name": s.name, "labels": s.labels,
         "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
)PY";

class MetricsTest : public XdsEnvoyTest {
 protected:
  std::string scrape() {
    httplib::Client client("127.0.0.1", cp_->diagnosticsPort());
    auto res = client.Get("/metrics");
    EXPECT_TRUE(res);
    if (!res) {
      return "";
    }
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return res->body;
  }

  // Runs the Python parser over `text`; a parse error fails the test.
  json parseWithPrometheusClient(const std::string& text) {
    const char* python = std::getenv("KUMA_PYTHON3");
    EXPECT_NE(python, nullptr) << "KUMA_PYTHON3 is not set";
    if (python == nullptr) {
      return json::array();
    }
    const std::string dir = makeTempDir("kuma-metrics");
    std::ofstream(dir + "/metrics.txt") << text;
    std::ofstream(dir + "/parse.py") << kParser;
    const std::string command = std::string(python) + " " + dir + "/parse.py < " + dir +
                                "/metrics.txt 2>" + dir + "/err.txt";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    if (pipe == nullptr) {
      return json::array();
    }
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) {
      output.append(buf, n);
    }
    const int status = pclose(pipe);
    std::ifstream errFile(dir + "/err.txt");
    const std::string err((std::istreambuf_iterator<char>(errFile)), {});
    EXPECT_EQ(status, 0) << err;
    json parsed = json::parse(output, nullptr, false);
    EXPECT_TRUE(parsed.is_array()) << output << err;
    return parsed.is_array() ? parsed : json::array();
  }

  static const json* family(const json& families, const std::string& name) {
    for (const json& f : families) {
      if (f["name"] == name) {
        return &f;
      }
    }
    return nullptr;
  }

  // Sum of the samples named `sample` in `family`.
  static double total(const json& families, const std::string& familyName,
                      const std::string& sample) {
    const json* f = family(families, familyName);
    double sum = 0;
    if (f != nullptr) {
      for (const json& s : (*f)["samples"]) {
        if (s["name"] == sample && s["value"].is_number()) {
          sum += s["value"].get<double>();
        }
      }
    }
    return sum;
  }
};

TEST_F(MetricsTest, EveryFamilyParsesWithKumasTypesAfterOneProxyConnected) {
  App app("web");
  Sidecar web =
      startSidecar(dataplane("web-1", freePort(), freePort(), app.port(), "web"), false, 91);
  // Connected, configured, and the ACKs are in.
  ASSERT_TRUE(eventually(
      [&] {
        auto e = metrics::testing::parseExposition(scrape());
        return e.ok() && e->value("xds_streams_active") == 1 &&
               !e->find("xds_requests_received", {{"confirmation", "ACK"}}).empty() &&
               !e->find("xds_delivery_count").empty() && *e->value("xds_delivery_count") > 0;
      },
      30s))
      << scrape() << cp_->output();

  const std::string text = scrape();
  // Raw names and types exactly as Kuma exposes them.
  auto raw = metrics::testing::parseExposition(text);
  ASSERT_TRUE(raw.ok()) << raw.status() << "\n" << text;
  const std::map<std::string, std::string> want = {{"xds_generation", "histogram"},
                                                   {"xds_generation_errors", "counter"},
                                                   {"xds_delivery", "histogram"},
                                                   {"xds_responses_sent", "counter"},
                                                   {"xds_responses_sent_bytes", "histogram"},
                                                   {"xds_requests_received", "counter"},
                                                   {"xds_streams_active", "gauge"},
                                                   {"store", "histogram"},
                                                   {"store_conflicts", "counter"},
                                                   {"store_cache", "counter"},
                                                   {"mesh_cache", "gauge"},
                                                   {"resources_count", "gauge"},
                                                   {"cp_info", "gauge"},
                                                   {"process_cpu_seconds_total", "counter"},
                                                   {"process_resident_memory_bytes", "gauge"},
                                                   {"process_open_fds", "gauge"},
                                                   {"process_start_time_seconds", "gauge"}};
  for (const auto& [name, type] : want) {
    auto it = raw->types.find(name);
    if (it == raw->types.end()) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    EXPECT_EQ(it->second, type) << name;
  }
  for (const auto& sample : raw->samples) {
    EXPECT_EQ(sample.labels.count("zone") == 1 ? sample.labels.at("zone") : "<none>", "default")
        << sample.name;
  }

  // The reference parser accepts the whole body and agrees on every family's type.
  const json families = parseWithPrometheusClient(text);
  for (const auto& [name, type] : want) {
    // The Python client names a counter family without its `_total` suffix.
    std::string parsedName = name;
    if (type == "counter" && parsedName.size() > 6 &&
        parsedName.compare(parsedName.size() - 6, 6, "_total") == 0) {
      parsedName.resize(parsedName.size() - 6);
    }
    const json* f = family(families, parsedName);
    ASSERT_NE(f, nullptr) << parsedName;
    EXPECT_EQ((*f)["type"], type) << name;
  }
  EXPECT_EQ(total(families, "xds_streams_active", "xds_streams_active"), 1);
  EXPECT_GT(total(families, "xds_requests_received", "xds_requests_received_total"), 0);
  EXPECT_GT(total(families, "xds_responses_sent", "xds_responses_sent_total"), 0);
  EXPECT_GT(total(families, "xds_responses_sent_bytes", "xds_responses_sent_bytes_count"), 0);
  EXPECT_GT(total(families, "xds_generation", "xds_generation_count"), 0);
  EXPECT_GT(total(families, "store", "store_count"), 0);
  EXPECT_GT(total(families, "process_resident_memory_bytes", "process_resident_memory_bytes"), 0);

  // Label values from Kuma's vocabulary.
  EXPECT_FALSE(raw->find("xds_generation_count", {{"proxy_type", "dataplane"}}).empty());
  for (const auto& s : raw->find("xds_generation_count")) {
    const std::string result = s.labels.at("result");
    EXPECT_TRUE(result == "skip" || result == "generated" || result == "changed") << result;
  }
  EXPECT_FALSE(raw->find("xds_generation_count", {{"result", "changed"}}).empty());
  EXPECT_FALSE(raw->find("xds_responses_sent",
                         {{"type_url", "type.googleapis.com/envoy.config.cluster.v3.Cluster"}})
                   .empty());
  EXPECT_EQ(raw->value("resources_count", {{"resource_type", "Mesh"}, {"tenant", ""}}), 1);
  EXPECT_EQ(raw->value("resources_count", {{"resource_type", "Dataplane"}}), 1);
  EXPECT_EQ(raw->value("cp_info", {{"product", "Kuma"}, {"version", "2.14.3"}}), 1);
  EXPECT_FALSE(
      raw->find("store_count", {{"operation", "create"}, {"resource_type", "Dataplane"}}).empty());
  EXPECT_GT(*raw->value("mesh_cache", {{"operation", "get"}, {"result", "miss"}}), 0);

  // The proxy goes away: no active stream any more.
  web.envoy.reset();
  EXPECT_TRUE(eventually(
      [&] {
        auto e = metrics::testing::parseExposition(scrape());
        return e.ok() && e->value("xds_streams_active") == 0;
      },
      15s));
}

}  // namespace
}  // namespace kuma::test
