// End to end: kuma-xds-load against a real kuma-cp (TLS DP server, authn none). 20 emulated
// proxies register through their node metadata, subscribe like Envoy and must all hold a complete
// ACKed config; over SotW and delta. Also: the exit code when configs cannot be complete.

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class XdsLoadSmokeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KumaCp::Options options;
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"},
                   {"KUMA_XDS_DATAPLANE_DEREGISTRATION_DELAY", "60s"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
    output_ = cp_->workDir() + "/load.json";
  }

  ExitResult load(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--cp-address",   absl::StrCat("127.0.0.1:", cp_->dpServerPort()),
        "--ca-cert-file", cp_->workDir() + "/kuma-cp.crt",
        "--output-json",  output_,
        "--summary"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runToExit(binaryPath("kuma-xds-load"), args, {}, 90s);
  }

  json report() {
    std::ifstream in(output_);
    return json::parse(in, nullptr, false);
  }

  std::unique_ptr<KumaCp> cp_;
  std::string output_;
};

TEST_P(XdsLoadSmokeTest, EveryProxyGetsACompleteAckedConfig) {
  const ExitResult r = load({"--dataplanes", "20", "--services", "5", "--reachable-services", "2",
                             "--protocol", GetParam(), "--expect-complete", "--timeout", "30s"});
  ASSERT_EQ(r.exitCode, 0) << r.output << "\nkuma-cp:\n" << cp_->output();
  EXPECT_THAT(r.output, HasSubstr("all-complete"));
  const json j = report();
  ASSERT_TRUE(j.is_object()) << "no JSON report";
  EXPECT_EQ(j["summary"]["protocol"], GetParam());
  EXPECT_EQ(j["summary"]["proxies"], 20);
  EXPECT_EQ(j["summary"]["complete_in_time"], 20);
  ASSERT_EQ(j["proxies"].size(), 20u);
  for (const json& p : j["proxies"]) {
    SCOPED_TRACE(p["name"].get<std::string>());
    EXPECT_TRUE(p["complete_in_time"].get<bool>());
    EXPECT_TRUE(p["complete_now"].get<bool>());
    EXPECT_EQ(p["missing"], json::array());
    EXPECT_EQ(p["decode_errors"], 0);
    // Transparent proxying with 2 reachable services: one EDS cluster and CLA per destination,
    // plus the inbound, admin and passthrough clusters and the listeners around them.
    EXPECT_EQ(p["destinations"].size(), 2u);
    EXPECT_EQ(p["resources"]["EDS"], 2);
    EXPECT_GE(p["resources"]["CDS"].get<int>(), 4);
    EXPECT_GE(p["resources"]["LDS"].get<int>(), 3);
    EXPECT_GT(p["bytes"].get<int>(), 1000);
    EXPECT_GT(p["ttfc_ms"].get<double>(), 0);
    EXPECT_LE(p["first_complete_ms"].get<double>(), j["start_epoch_ms"].get<double>() + 30000);
    bool sawComplete = false;
    for (const json& e : p["timeline"]) {
      sawComplete = sawComplete || e[1] == "complete";
    }
    EXPECT_TRUE(sawComplete);
  }

  // The proxies registered themselves: the Dataplanes are in the store.
  httplib::Client api("127.0.0.1", cp_->apiPort());
  auto res = api.Get("/meshes/default/dataplanes?size=100");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json list = json::parse(res->body, nullptr, false);
  EXPECT_EQ(list["total"], 20) << res->body;
}

INSTANTIATE_TEST_SUITE_P(Protocols, XdsLoadSmokeTest, ::testing::Values("sotw", "delta"));

class XdsLoadFailureTest : public XdsLoadSmokeTest {};

TEST_F(XdsLoadFailureTest, ExitsOneWhenConfigsAreIncomplete) {
  // A Mesh that does not exist: kuma-cp refuses every registration, nothing completes.
  const ExitResult r = load({"--dataplanes", "3", "--services", "2", "--mesh", "nosuchmesh",
                             "--expect-complete", "--timeout", "3s"});
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("0 of 3 proxies"));
  const json j = report();
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["summary"]["complete"], 0);
  EXPECT_GE(j["summary"]["reconnects"].get<int>(), 3);  // refused streams are retried
}

TEST_F(XdsLoadFailureTest, RejectsBadCaFile) {
  std::ofstream(cp_->workDir() + "/bad.crt") << "not a certificate\n";
  const ExitResult r =
      runToExit(binaryPath("kuma-xds-load"),
                {"--cp-address", absl::StrCat("127.0.0.1:", cp_->dpServerPort()), "--ca-cert-file",
                 cp_->workDir() + "/bad.crt", "--expect-complete"},
                {}, 30s);
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no PEM certificate"));
}

}  // namespace
}  // namespace kuma::test
