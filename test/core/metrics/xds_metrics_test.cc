#include "source/core/metrics/xds_metrics.h"

#include <thread>

#include "gtest/gtest.h"
#include "test/core/metrics/metrics_text.h"

namespace kuma::metrics {
namespace {

using testing::Exposition;

constexpr char kClusters[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kListeners[] = "type.googleapis.com/envoy.config.listener.v3.Listener";

class XdsStreamMetricsTest : public ::testing::Test {
 protected:
  Exposition scrape() {
    auto parsed = testing::parseExposition(metrics_.scrape());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : Exposition{};
  }
  void open(int64_t id, bool delta) {
    xds::server::StreamInfo info;
    info.delta = delta;
    envoy::config::core::v3::Node node;
    node.set_id("default.dp-" + std::to_string(id));
    ASSERT_TRUE(xds_.onStreamOpen(id, node, info).ok());
  }

  Metrics metrics_{{.zone = "default", .processMetrics = false}};
  XdsStreamMetrics xds_{metrics_};
};

TEST_F(XdsStreamMetricsTest, CountsResponsesAndConfirmationsButNotSubscriptions) {
  open(1, false);
  xds_.onRequest(1, kClusters, false, false, "");  // first request of the type: not counted
  xds_.onResponse(1, kClusters, "v1", 2);
  xds_.onResponseBytes(kClusters, 1500);
  xds_.onRequest(1, kClusters, true, false, "");
  xds_.onResponse(1, kListeners, "v1", 1);
  xds_.onRequest(1, kListeners, false, true, "listener rejected");
  xds_.onRequest(1, kListeners, false, true, "Internal error occurred: failed calling webhook x");
  const Exposition e = scrape();
  EXPECT_EQ(e.value("xds_responses_sent", {{"type_url", kClusters}}), 1);
  EXPECT_EQ(e.value("xds_responses_sent", {{"type_url", kListeners}}), 1);
  EXPECT_EQ(e.value("xds_requests_received",
                    {{"type_url", kClusters}, {"confirmation", "ACK"}, {"error_type", "no_error"}}),
            1);
  EXPECT_EQ(e.value("xds_requests_received",
                    {{"type_url", kListeners}, {"confirmation", "NACK"}, {"error_type", "other"}}),
            1);
  EXPECT_EQ(e.value("xds_requests_received",
                    {{"type_url", kListeners}, {"confirmation", "NACK"}, {"error_type", "user"}}),
            1);
  EXPECT_EQ(e.find("xds_requests_received").size(), 3u);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_count", {{"type_url", kClusters}}), 1);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_sum", {{"type_url", kClusters}}), 1500);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_bucket", {{"type_url", kClusters}, {"le", "1024"}}),
            0);
}

TEST_F(XdsStreamMetricsTest, DeliveryIsObservedOncePerNewVersionOnStateOfTheWorldStreamsOnly) {
  open(1, false);
  open(2, true);
  xds_.onResponse(1, kClusters, "v1", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  xds_.onRequest(1, kClusters, true, false, "");
  xds_.onRequest(1, kClusters, true, false, "");  // a second ACK of v1 adds nothing
  xds_.onResponse(1, kClusters, "v1", 1);         // same version again: already delivered
  xds_.onRequest(1, kClusters, true, false, "");
  xds_.onResponse(1, kListeners, "v1", 1);
  xds_.onRequest(1, kListeners, false, true, "bad");  // NACK: not a delivery
  xds_.onResponse(2, kClusters, "v1", 1);             // delta: no samples
  xds_.onRequest(2, kClusters, true, false, "");
  xds_.onRequest(3, kClusters, true, false, "");  // unknown stream: counted, no delivery
  Exposition e = scrape();
  EXPECT_EQ(e.value("xds_delivery_count"), 1);
  EXPECT_GE(*e.value("xds_delivery_sum"), 20);                   // milliseconds
  EXPECT_EQ(e.value("xds_delivery_bucket", {{"le", "10"}}), 0);  // ms in default buckets
  EXPECT_EQ(e.types.at("xds_delivery"), "histogram");

  xds_.onResponse(1, kClusters, "v2", 1);
  xds_.onRequest(1, kClusters, true, false, "");
  EXPECT_EQ(scrape().value("xds_delivery_count"), 2);
  xds_.onStreamClosed(1, "default.dp-1");
  xds_.onRequest(1, kClusters, true, false, "");  // after close: forgotten
  EXPECT_EQ(scrape().value("xds_delivery_count"), 2);
}

TEST_F(XdsStreamMetricsTest, GenerationHistogramInMillisecondsByResult) {
  xds_.recordGeneration(GenerationResult::kSkip, std::chrono::microseconds(200));
  xds_.recordGeneration(GenerationResult::kGenerated, std::chrono::milliseconds(3));
  xds_.recordGeneration(GenerationResult::kChanged, std::chrono::milliseconds(4));
  xds_.recordGeneration(GenerationResult::kChanged, std::chrono::milliseconds(5));
  xds_.recordGenerationError();
  const Exposition e = scrape();
  EXPECT_EQ(e.value("xds_generation_count", {{"proxy_type", "dataplane"}, {"result", "skip"}}), 1);
  EXPECT_EQ(e.value("xds_generation_sum", {{"result", "skip"}}), 0.2);
  EXPECT_EQ(e.value("xds_generation_count", {{"result", "generated"}}), 1);
  EXPECT_EQ(e.value("xds_generation_count", {{"result", "changed"}}), 2);
  EXPECT_EQ(e.value("xds_generation_sum", {{"result", "changed"}}), 9);
  EXPECT_EQ(e.value("xds_generation_errors"), 1);
}

TEST(NackErrorTypeTest, WebhookFailuresAreUserErrors) {
  EXPECT_STREQ(XdsStreamMetrics::nackErrorType("failed calling webhook \"x\""), "user");
  EXPECT_STREQ(XdsStreamMetrics::nackErrorType(""), "other");
  EXPECT_STREQ(XdsStreamMetrics::nackErrorType("Failed Calling Webhook"), "other");
}

}  // namespace
}  // namespace kuma::metrics
