// End to end with a Go xDS client (test/tools/go-xds-client: grpc-go over Go crypto/tls, the TLS
// stack of Kuma's own load tool and of any Go client): 1000 emulated proxies, one TLS connection
// and SotW ADS stream each, opened at random times of a 20 s ramp, register through node metadata
// and ACK every response, while Dataplanes are created and deleted over REST so that EDS keeps
// changing. Every proxy sees every service (transparent proxying without reachable services), so
// responses are tens of KiB: several TLS records each. Every stream must live to the end and every
// response must be ACKed.
//
// Regression test for a TLS stream corruption: with gRPC's TLS frames cut to 4 KiB
// (GRPC_ARG_TSI_MAX_FRAME_SIZE), gRPC 1.51 now and then sent bytes of one connection's TLS stream
// on another connection set up at about the same time; the Go clients answered alert
// protocol_version and kuma-cp logged "Corruption detected" / TSI_DATA_CORRUPTED. Before the fix
// every run of this workload lost streams (9 of 9 runs, 1 to 15 of 1000; docs/benchmarks.md).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

using json = nlohmann::json;

constexpr int kProxies = 1000;

/** Builds (or reuses from the cache outside the repository) the Go client; its path. */
std::string buildGoClient() {
  const char* source = std::getenv("KUMA_SOURCE_DIR");
  const std::string script =
      std::string(source != nullptr ? source : ".") + "/test/tools/go-xds-client/build.sh";
  std::map<std::string, std::string> env;
  if (const char* go = std::getenv("KUMA_GO"); go != nullptr && *go != '\0') {
    env["KUMA_GO"] = go;
  }
  // The first build downloads the modules and compiles grpc-go: minutes on a busy machine.
  ExitResult r = runToExit("/bin/bash", {script}, env, std::chrono::minutes(10));
  EXPECT_EQ(r.exitCode, 0) << "building the Go client failed:\n" << r.output;
  if (r.exitCode != 0) {
    return "";
  }
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(r.output), '\n');
  return lines.empty() ? "" : lines.back();
}

TEST(GoAdsTlsE2e, ThousandStreamsOverGoTlsSurviveEndpointChurnAndAckEveryResponse) {
  const std::string client = buildGoClient();
  ASSERT_FALSE(client.empty());

  auto cp = startCp({{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"}});
  ASSERT_TRUE(cp);

  // 1000 streams opened over 20 s; churn from the start to the end (60 s): 20 Dataplanes alive at
  // once, one create or delete every 100 ms, each changing the EDS of every proxy.
  const auto started = std::chrono::steady_clock::now();
  ExitResult run = runToExit(client,
                             {"-addr",
                              "127.0.0.1:" + std::to_string(cp->dpServerPort()),
                              "-api",
                              "http://127.0.0.1:" + std::to_string(cp->apiPort()),
                              "-proxies",
                              std::to_string(kProxies),
                              "-services",
                              "50",
                              "-reachable",
                              "0",
                              "-node-first-only",
                              "-random-ramp",
                              "-ramp",
                              "20s",
                              "-duration",
                              "60s",
                              "-churn-rate",
                              "10",
                              "-churn-keep",
                              "20",
                              "-ca-cert",
                              cp->workDir() + "/kuma-cp.crt",
                              "-server-name",
                              "localhost",
                              "-progress",
                              "10s"},
                             {}, std::chrono::seconds(150));
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  const std::string cpLog = cp->output();
  EXPECT_EQ(run.exitCode, 0) << "after " << seconds << " s:\n" << run.output;

  // The last line is the client's JSON summary.
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(run.output), '\n');
  ASSERT_FALSE(lines.empty());
  const json summary = json::parse(lines.back(), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << run.output;
  // The run's figures, also when it passes (ctest -V shows them).
  json figures = summary;
  figures.erase("deaths");
  std::cout << "go-xds-client after " << seconds << " s: " << figures.dump() << std::endl;
  EXPECT_EQ(summary.value("streams_opened", 0), kProxies);
  EXPECT_EQ(summary.value("streams_died", -1), 0) << summary.dump(2);
  EXPECT_EQ(summary.value("streams_alive_at_end", 0), kProxies);
  EXPECT_EQ(summary.value("complete", 0), kProxies);
  EXPECT_EQ(summary.value("churn_errors", -1), 0);
  const int64_t responses = summary.value("responses", int64_t{0});
  EXPECT_EQ(summary.value("acks", int64_t{-1}), responses);
  // The churn has to drive a real volume through every stream: before the fix the first streams
  // died after 4 000 to 20 000 ACKs of the run (most runs give 18 000 to 30 000 responses).
  EXPECT_GE(responses, 10 * kProxies) << summary.dump(2);
  EXPECT_GE(summary.value("churn_ops", 0), 200);

  // kuma-cp's side of the corruption (gRPC's TSI logs it).
  std::string tlsErrors;
  for (absl::string_view line : absl::StrSplit(cpLog, '\n')) {
    if (absl::StrContains(line, "Corruption detected") ||
        absl::StrContains(line, "Decryption error") ||
        absl::StrContains(line, "Encryption error")) {
      absl::StrAppend(&tlsErrors, line, "\n");
    }
  }
  EXPECT_EQ(tlsErrors, "") << "kuma-cp logged TLS errors";
  EXPECT_EQ(cp->stop(SIGTERM, std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace kuma::test
