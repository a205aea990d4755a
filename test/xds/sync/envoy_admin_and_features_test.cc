// What a connecting proxy tells the control plane reaches its config (node metadata
// `dataplane.admin.socketPath`, feature `feature-strict-inbound-ports`), and the reconciler
// hands the admin listener its Envoy Admin CA certificate: none while the CA is missing (no
// config, retried), the same certificate on every pass, a new one after a reconnect.

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <functional>
#include <thread>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gtest/gtest.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/pki.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/sync/dataplane_callbacks.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::xds::sync {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using nlohmann::json;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;

bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 300 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

template <typename T>
T decode(const Snapshot& s, const std::string& type, const std::string& name) {
  T message;
  auto it = s.types.at(type).resources.find(name);
  EXPECT_NE(it, s.types.at(type).resources.end()) << name;
  if (it != s.types.at(type).resources.end()) {
    EXPECT_TRUE(message.ParseFromString(it->second->serialized));
  }
  return message;
}

template <typename T>
T decode(const GeneratedResources& g, const std::string& type, const std::string& name) {
  T message;
  auto r = g.find(type, name);
  EXPECT_NE(r, nullptr) << name;
  if (r != nullptr) {
    EXPECT_TRUE(message.ParseFromString(r->serialized));
  }
  return message;
}

// The admin listener's server certificate PEM (empty without the mTLS chain).
std::string adminServerCert(const Listener& admin) {
  for (const auto& chain : admin.filter_chains()) {
    if (chain.filter_chain_match().transport_protocol() != "tls") {
      continue;
    }
    tls_v3::DownstreamTlsContext context;
    EXPECT_TRUE(chain.transport_socket().typed_config().UnpackTo(&context));
    return context.common_tls_context().tls_certificates(0).certificate_chain().inline_bytes();
  }
  return "";
}

bool certHasIp(const std::string& pem, const std::string& ip) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  crypto::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  return cert && X509_check_ip_asc(cert.get(), ip.c_str(), 0) == 1;
}

class EnvoyAdminReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = *crypto::generateSelfSignedCa("Kuma", "Mesh", "Envoy Admin CA", absl::Hours(1));
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"},
         {"name", "default"},
         {"mtls",
          {{"enabledBackend", "ca-1"},
           {"backends", {{{"name", "ca-1"}, {"type", "builtin"}, {"mode", "STRICT"}}}}}}});
    put(dataplane("web-1", "10.0.0.1"));
    adminTls_ = std::make_unique<EnvoyAdminTls>([this]() -> absl::StatusOr<std::string> {
      ++caLoads_;
      if (!caPresent_) {
        return absl::NotFoundError("GlobalSecret envoy-admin-ca not found");
      }
      return ca_.certPem + ca_.keyPem;
    });
    ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    options.refreshInterval = std::chrono::milliseconds(50);
    options.envoyAdminTls = adminTls_.get();
    reconciler_ = std::make_unique<Reconciler>(*store_, registry_, cache_, options);
    reconciler_->start();
  }
  void TearDown() override {
    callbacks_.reset();
    reconciler_->stop();
  }

  // A transparent-proxy Dataplane with inbounds on 8080 and 9090.
  static json dataplane(const std::string& name, const std::string& address) {
    return {{"type", "Dataplane"},
            {"mesh", "default"},
            {"name", name},
            {"networking",
             {{"address", address},
              {"inbound",
               {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}}}},
                {{"port", 9090}, {"tags", {{"kuma.io/service", "web-metrics"}}}}}},
              {"transparentProxying",
               {{"redirectPortInbound", 15006}, {"redirectPortOutbound", 15001}}}}}};
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(manager_->upsert(std::move(body->resource)).ok());
  }

  static envoy::config::core::v3::Node node(const std::string& name,
                                            const std::vector<std::string>& features,
                                            const std::string& socketPath) {
    envoy::config::core::v3::Node n;
    n.set_id("default." + name);
    auto& fields = *n.mutable_metadata()->mutable_fields();
    auto* list = fields["features"].mutable_list_value();
    for (const auto& f : features) {
      list->add_values()->set_string_value(f);
    }
    fields["dataplane.admin.port"].set_string_value("9901");
    fields["dataplane.admin.address"].set_string_value("127.0.0.1");
    if (!socketPath.empty()) {
      fields["dataplane.admin.socketPath"].set_string_value(socketPath);
    }
    return n;
  }

  DataplaneCallbacks& callbacks() {
    DataplaneCallbacksOptions options;
    options.authnType = "none";
    callbacks_ = std::make_unique<DataplaneCallbacks>(*manager_, registry_, *reconciler_, options);
    return *callbacks_;
  }

  crypto::CertAndKey ca_;
  std::atomic<bool> caPresent_ = true;
  std::atomic<int> caLoads_ = 0;
  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  std::unique_ptr<EnvoyAdminTls> adminTls_;
  cache::SnapshotCache cache_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<DataplaneCallbacks> callbacks_;
};

TEST_F(EnvoyAdminReconcileTest, NodeMetadataSetsTheAdminSocketAndStrictInboundPorts) {
  ASSERT_TRUE(callbacks()
                  .onStreamOpen(1,
                                node("web-1", {"feature-strict-inbound-ports"},
                                     "/tmp/kuma-dp-7/kuma-envoy-admin.sock"),
                                {})
                  .ok());
  ASSERT_TRUE(eventually([&] { return cache_.getSnapshot("default.web-1") != nullptr; }));
  auto generated = reconciler_->inspect("default", "web-1");  // the connected proxy's options
  ASSERT_TRUE(generated.ok()) << generated.status();
  auto admin = decode<Cluster>(*generated, kClusterType, "kuma:envoy:admin");
  EXPECT_EQ(admin.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address().pipe().path(),
            "/tmp/kuma-dp-7/kuma-envoy-admin.sock");
  auto passthrough = decode<Listener>(*generated, kListenerType, "inbound:passthrough:ipv4");
  ASSERT_EQ(passthrough.filter_chains_size(), 2);
  EXPECT_EQ(passthrough.filter_chains(0).filter_chain_match().destination_port().value(), 8080u);
  EXPECT_EQ(passthrough.filter_chains(1).filter_chain_match().destination_port().value(), 9090u);
}

TEST_F(EnvoyAdminReconcileTest, WithoutTheFeatureOrSocketTheDefaultsStay) {
  ASSERT_TRUE(callbacks().onStreamOpen(1, node("web-1", {}, ""), {}).ok());
  ASSERT_TRUE(eventually([&] { return cache_.getSnapshot("default.web-1") != nullptr; }));
  auto generated = reconciler_->inspect("default", "web-1");
  ASSERT_TRUE(generated.ok()) << generated.status();
  auto admin = decode<Cluster>(*generated, kClusterType, "kuma:envoy:admin");
  const auto& address = admin.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
  EXPECT_EQ(address.socket_address().address(), "127.0.0.1");
  EXPECT_EQ(address.socket_address().port_value(), 9901u);
  auto passthrough = decode<Listener>(*generated, kListenerType, "inbound:passthrough:ipv4");
  ASSERT_EQ(passthrough.filter_chains_size(), 1);
  EXPECT_FALSE(passthrough.filter_chains(0).has_filter_chain_match());
}

TEST_F(EnvoyAdminReconcileTest, AdminListenerGetsTheDataplanesCertificateOnceTheCaExists) {
  caPresent_ = false;
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  // As in Kuma, no config at all while the certificate cannot be issued...
  ASSERT_TRUE(eventually([&] { return reconciler_->stats().errors >= 2; }));
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), nullptr);
  // ... and the refresh tick retries until the defaults created the CA.
  caPresent_ = true;
  ASSERT_TRUE(eventually([&] { return cache_.getSnapshot("default.web-1") != nullptr; }));
  const SnapshotConstSharedPtr first = cache_.getSnapshot("default.web-1");
  const std::string cert =
      adminServerCert(decode<Listener>(*first, kListenerType, "kuma:envoy:admin"));
  ASSERT_FALSE(cert.empty());
  EXPECT_TRUE(certHasIp(cert, "10.0.0.1"));

  // Ticks and passes reuse the certificate: nothing is republished.
  const uint64_t generations = reconciler_->stats().generations;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), first);
  EXPECT_EQ(reconciler_->stats().generations, generations);
  EXPECT_EQ(adminTls_->serverCertsIssued(), 1u);

  // A new address: a certificate for it.
  put(dataplane("web-1", "10.0.0.5"));
  ASSERT_TRUE(eventually([&] {
    auto s = cache_.getSnapshot("default.web-1");
    return s != nullptr &&
           certHasIp(adminServerCert(decode<Listener>(*s, kListenerType, "kuma:envoy:admin")),
                     "10.0.0.5");
  }));
  EXPECT_EQ(adminTls_->serverCertsIssued(), 2u);

  // A disconnected proxy's certificate is dropped; it gets a new one when it comes back.
  reconciler_->removeProxy("default.web-1");
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  ASSERT_TRUE(eventually([&] { return cache_.getSnapshot("default.web-1") != nullptr; }));
  EXPECT_EQ(adminTls_->serverCertsIssued(), 3u);
}

TEST_F(EnvoyAdminReconcileTest, ADataplaneOnTheAdminAddressNeedsNoCertificate) {
  caPresent_ = false;
  put(dataplane("local-1", "127.0.0.1"));
  reconciler_->addProxy("default.local-1", "default", "local-1", {});
  ASSERT_TRUE(eventually([&] { return cache_.getSnapshot("default.local-1") != nullptr; }));
  EXPECT_EQ(cache_.getSnapshot("default.local-1")
                ->types.at(kListenerType)
                .resources.count("kuma:envoy:admin"),
            0u);
  EXPECT_EQ(caLoads_.load(), 0);
}

}  // namespace
}  // namespace kuma::xds::sync
