// Fuzz target: `POST /bootstrap` of the DP server (docs/fuzzing.md).
//
// Input: byte 0 holds flags (bit 0: `Accept: application/json`, bit 1: no configured xdsHost so
// the Host header is checked against the server certificate, bit 2: dpProxy authn `none`), the
// rest is the request body. parseBootstrapRequest() runs on it, then the whole handler against a
// memory store with Mesh `default` (a Prometheus backend) and a stored Dataplane `dp-1`.
// Oracles: only Kuma's status codes; a 200 carries a bootstrap that parses back (YAML, or JSON
// whose `bootstrap` is base64 of YAML).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/xds/bootstrap/handler.h"
#include "source/xds/bootstrap/request.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

struct World {
  store::ResourceStorePtr store = memory::newMemoryStore();
  std::unique_ptr<manager::ResourceManager> manager;
  std::string certPem;

  World() {
    // The handler logs refused requests; at fuzzing rates that is noise.
    logging::logger("bootstrap-server")->set_level(spdlog::level::off);
    manager = std::make_unique<manager::ResourceManager>(*store, server::allTypes());
    auto cert = tls::generateSelfSignedServerCert({"localhost", "127.0.0.1"});
    FUZZ_CHECK(cert.ok(), cert.status().ToString());
    certPem = cert->certPem;
    put({{"type", "Mesh"},
         {"name", "default"},
         {"metrics",
          {{"enabledBackend", "prom"},
           {"backends",
            {{{"name", "prom"},
              {"type", "prometheus"},
              {"conf",
               {{"port", 5670},
                {"path", "/metrics"},
                {"aggregate", {{{"name", "app"}, {"port", 8081}, {"path", "/m"}}}}}}}}}}}});
    put({{"type", "Dataplane"},
         {"mesh", "default"},
         {"name", "dp-1"},
         {"networking",
          {{"address", "10.0.0.1"},
           {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}}}}}}}}});
  }

  void put(const nlohmann::json& object) {
    const auto* type = server::allTypes().byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    FUZZ_CHECK(body.ok(), body.status().ToString());
    auto stored = manager->upsert(std::move(body->resource));
    FUZZ_CHECK(stored.ok(), stored.status().ToString());
  }
};

World& world() {
  static World* const w = new World();
  return *w;
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size < 1) {
    return 0;
  }
  const uint8_t flags = data[0];
  const std::string body(fuzz::asText(data + 1, size - 1));
  auto request = xds::bootstrap::parseBootstrapRequest(body);
  if (request.ok()) {
    (void)request->hasFeature(xds::bootstrap::kFeatureDeltaGrpc);
  }

  fuzz::World& w = fuzz::world();
  xds::bootstrap::HandlerOptions options;
  options.serverCertPem = w.certPem;
  options.xdsHost = (flags & 2) != 0 ? "" : "cp.example";
  options.dpProxyAuthnType = (flags & 4) != 0 ? "none" : "dpToken";
  options.corefileTemplate = "{{ .Domain }}";
  options.params.resolvesOnlyToIpv4 = [](const std::string&) { return true; };  // no DNS
  xds::bootstrap::BootstrapHandler handler(options, *w.manager, server::allTypes());
  const std::string accept = (flags & 1) != 0 ? "application/json" : "";
  const xds::bootstrap::HttpResponse response = handler.handle({body, "localhost:5678", accept});

  const int s = response.status;
  FUZZ_CHECK(s == 200 || s == 400 || s == 404 || s == 422 || s == 500, absl::StrCat("status ", s));
  FUZZ_CHECK(s != 200 || request.ok(), "200 for a request that does not parse");
  if (s != 200) {
    return 0;
  }
  std::string yaml = response.body;
  if ((flags & 1) != 0) {
    auto json = common::parseJson(response.body);
    FUZZ_CHECK(json.ok() && json->is_object() && (*json)["bootstrap"].is_string(),
               absl::StrCat("the JSON answer is not {bootstrap: ...}: ", response.body));
    FUZZ_CHECK(absl::Base64Unescape((*json)["bootstrap"].get<std::string>(), &yaml),
               "the bootstrap is not base64");
  }
  auto bootstrap = common::parseYaml(yaml);
  FUZZ_CHECK(bootstrap.ok() && bootstrap->is_object(),
             absl::StrCat("the bootstrap does not parse back: ", bootstrap.status().ToString(),
                          "\n", yaml));
  return 0;
}
