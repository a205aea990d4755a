#pragma once

// Test harness for the ADS server: an in-process gRPC server on 127.0.0.1:0 and sync clients
// whose responses are read by a helper thread into a queue, so tests can wait with a timeout.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "source/xds/server/ads_server.h"

namespace kuma::xds::server::testing {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using namespace std::chrono_literals;

/** A resource whose bytes are a real Cluster named `name` (payload lands in alt_stat_name). */
inline ResourceConstSharedPtr makeResource(const std::string& name, const std::string& payload) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name(name);
  cluster.set_alt_stat_name(payload);
  auto resource = std::make_shared<Resource>();
  resource->name = name;
  resource->serialized = cluster.SerializeAsString();
  resource->hash = std::hash<std::string>{}(resource->serialized);
  return resource;
}

/** type URL → (version, {name → payload}). */
using SnapshotSpec =
    std::map<std::string, std::pair<std::string, std::map<std::string, std::string>>>;

inline SnapshotConstSharedPtr makeSnapshot(const SnapshotSpec& spec) {
  auto snapshot = std::make_shared<Snapshot>();
  for (const auto& [type, content] : spec) {
    TypeSnapshot& ts = snapshot->types[type];
    ts.version = content.first;
    for (const auto& [name, payload] : content.second) {
      ts.resources.emplace(name, makeResource(name, payload));
    }
  }
  return snapshot;
}

/** Names of the Clusters packed in a response's Any values. */
inline std::vector<std::string> resourceNames(const DiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& any : response.resources()) {
    envoy::config::cluster::v3::Cluster cluster;
    if (cluster.ParseFromString(any.value())) {
      names.push_back(cluster.name());
    }
  }
  return names;
}

inline std::vector<std::string> resourceNames(const DeltaDiscoveryResponse& response) {
  std::vector<std::string> names;
  for (const auto& r : response.resources()) {
    names.push_back(r.name());
  }
  return names;
}

/** Records every hook call. */
class RecordingCallbacks : public StreamCallbacks {
 public:
  struct Request {
    int64_t streamId;
    std::string typeUrl;
    bool isAck;
    bool isNack;
    std::string errorDetail;
  };

  absl::Status onStreamOpen(int64_t streamId, const envoy::config::core::v3::Node& node,
                            const StreamInfo& info) override {
    std::lock_guard<std::mutex> lock(mu);
    opened.emplace_back(streamId, node.id());
    infos.push_back(info);
    return openStatus;
  }
  void onRequest(int64_t streamId, const std::string& typeUrl, bool isAck, bool isNack,
                 const std::string& errorDetail) override {
    std::lock_guard<std::mutex> lock(mu);
    requests.push_back(Request{streamId, typeUrl, isAck, isNack, errorDetail});
  }
  void onResponse(int64_t, const std::string&, const std::string&, size_t) override {
    std::lock_guard<std::mutex> lock(mu);
    ++responses;
  }
  void onStreamClosed(int64_t streamId, const std::string& nodeId) override {
    std::lock_guard<std::mutex> lock(mu);
    closed.emplace_back(streamId, nodeId);
    cv.notify_all();
  }
  bool waitClosed(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return closed.size() >= count; });
  }

  std::mutex mu;
  std::condition_variable cv;
  absl::Status openStatus = absl::OkStatus();
  std::vector<std::pair<int64_t, std::string>> opened;
  std::vector<StreamInfo> infos;
  std::vector<Request> requests;
  size_t responses = 0;
  std::vector<std::pair<int64_t, std::string>> closed;
};

/** AdsServer + cache + gRPC server on a free loopback port. */
class AdsFixture {
 public:
  explicit AdsFixture(std::chrono::milliseconds backoff = 200ms, bool withCallbacks = true) {
    AdsServerOptions options;
    options.controlPlaneId = "cp-test";
    options.nackBackoff = backoff;
    ads = std::make_unique<AdsServer>(cache, options, withCallbacks ? &callbacks : nullptr);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(ads.get());
    server = builder.BuildAndStart();
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials());
    stub = AggregatedDiscoveryService::NewStub(channel);
  }
  ~AdsFixture() {
    ads->shutdown();
    server->Shutdown(std::chrono::system_clock::now() + 2s);
  }

  cache::SnapshotCache cache;
  RecordingCallbacks callbacks;
  std::unique_ptr<AdsServer> ads;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub;
};

/** One client stream (SotW or delta) with a reader thread. */
template <class Req, class Resp>
class Client {
 public:
  template <class Open>
  explicit Client(Open open, const std::string& authorization = "") {
    context_.set_deadline(std::chrono::system_clock::now() + 60s);
    if (!authorization.empty()) {
      context_.AddMetadata("authorization", authorization);
    }
    stream_ = open(&context_);
    reader_ = std::thread([this] {
      Resp response;
      while (stream_->Read(&response)) {
        std::lock_guard<std::mutex> lock(mu_);
        responses_.push_back(response);
        cv_.notify_all();
      }
      grpc::Status status = stream_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      cv_.notify_all();
    });
  }
  ~Client() {
    context_.TryCancel();
    reader_.join();
  }

  bool send(const Req& request) {
    std::lock_guard<std::mutex> lock(writeMu_);
    return stream_->Write(request);
  }
  void closeSend() {
    std::lock_guard<std::mutex> lock(writeMu_);
    stream_->WritesDone();
  }

  /** The next response, or nullopt if none arrives within timeout. */
  std::optional<Resp> next(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !responses_.empty() || status_; })) {
      return std::nullopt;
    }
    if (responses_.empty()) {
      return std::nullopt;
    }
    Resp r = std::move(responses_.front());
    responses_.pop_front();
    return r;
  }

  /** The stream's final status, or nullopt if it is still open after timeout. */
  std::optional<grpc::Status> waitDone(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return status_.has_value(); });
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Req, Resp>> stream_;
  std::thread reader_;
  std::mutex writeMu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Resp> responses_;
  std::optional<grpc::Status> status_;
};

using SotwClient = Client<DiscoveryRequest, DiscoveryResponse>;
using DeltaClient = Client<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

inline std::unique_ptr<SotwClient> openSotw(AdsFixture& f, const std::string& auth = "") {
  return std::make_unique<SotwClient>(
      [&](grpc::ClientContext* ctx) { return f.stub->StreamAggregatedResources(ctx); }, auth);
}
inline std::unique_ptr<DeltaClient> openDelta(AdsFixture& f) {
  return std::make_unique<DeltaClient>(
      [&](grpc::ClientContext* ctx) { return f.stub->DeltaAggregatedResources(ctx); });
}

inline DiscoveryRequest sotwRequest(const std::string& type, std::vector<std::string> names = {},
                                    const std::string& version = "", const std::string& nonce = "",
                                    const std::string& nodeId = "") {
  DiscoveryRequest r;
  r.set_type_url(type);
  for (auto& n : names) {
    r.add_resource_names(n);
  }
  r.set_version_info(version);
  r.set_response_nonce(nonce);
  if (!nodeId.empty()) {
    r.mutable_node()->set_id(nodeId);
  }
  return r;
}

/** ACK of response (same names as given). */
inline DiscoveryRequest ack(const DiscoveryResponse& response,
                            std::vector<std::string> names = {}) {
  return sotwRequest(response.type_url(), std::move(names), response.version_info(),
                     response.nonce());
}

inline DiscoveryRequest nack(const DiscoveryResponse& response, const std::string& lastAccepted,
                             const std::string& message, std::vector<std::string> names = {}) {
  DiscoveryRequest r =
      sotwRequest(response.type_url(), std::move(names), lastAccepted, response.nonce());
  r.mutable_error_detail()->set_code(3);
  r.mutable_error_detail()->set_message(message);
  return r;
}

}  // namespace kuma::xds::server::testing
