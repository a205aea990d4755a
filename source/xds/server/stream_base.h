#pragma once

// File: stream_base.h (internal to the ADS server)
// The transport half of an ADS stream, shared by SotW and delta: the read loop, the single write
// in flight, NACK backoff, open/close hooks and finishing. The protocol half (subclass) only
// turns requests into state and state into the next response, under mu_.
//
// Threads: reactions run on gRPC threads; snapshot changes arrive on the publisher's thread;
// backoff expiry on the timer thread. All of them call pump(), which builds at most one response
// from the *current* state (so pending updates coalesce) and starts its write. gRPC operations
// are started without holding mu_ because gRPC may run a reaction inline.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "source/xds/server/server_state.h"

namespace kuma::xds::server::internal {

template <class Request, class Response>
class StreamBase : public grpc::ServerBidiReactor<Request, Response>, public StreamControl {
 public:
  using Clock = std::chrono::steady_clock;

  StreamBase(std::shared_ptr<ServerState> server, grpc::CallbackServerContext* context, bool delta)
      : server_(std::move(server)), streamId_(server_->nextStreamId.fetch_add(1) + 1) {
    info_.peer = context->peer();
    info_.delta = delta;
    for (const auto& [key, value] : context->client_metadata()) {
      info_.metadata.emplace(std::string(key.data(), key.size()),
                             std::string(value.data(), value.size()));
    }
  }

  /** Takes ownership of itself until OnDone() and starts reading. */
  static void start(const std::shared_ptr<StreamBase>& stream) {
    stream->self_ = stream;
    stream->weakSelf_ = stream;
    if (!stream->server_->registerStream(stream->streamId_, stream)) {
      stream->server_->counters.streamsRejected.fetch_add(1);
      stream->requestFinish(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane is shutting down"));
      return;
    }
    stream->StartRead(&stream->request_);
  }

  void requestFinish(grpc::Status status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finishWanted_) {
        return;
      }
      finishWanted_ = true;
      finishStatus_ = std::move(status);
    }
    pump();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // Client half-close or cancellation: nothing more will arrive.
      requestFinish(grpc::Status::OK);
      return;
    }
    server_->counters.requests.fetch_add(1);
    if (!opened_) {
      grpc::Status status = open(request_);
      if (!status.ok()) {
        server_->counters.streamsRejected.fetch_add(1);
        requestFinish(std::move(status));
        return;
      }
    } else if (request_.has_node() && !request_.node().id().empty() &&
               request_.node().id() != nodeId_) {
      requestFinish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node id may not change on a stream"));
      return;
    }
    absl::StatusOr<std::optional<RequestEvent>> event;
    {
      std::lock_guard<std::mutex> lock(mu_);
      event = handleRequestLocked(request_);
    }
    if (!event.ok()) {
      requestFinish(toGrpcStatus(event.status()));
      return;
    }
    if (event->has_value()) {
      const RequestEvent& e = **event;
      if (e.isAck) {
        server_->counters.acks.fetch_add(1);
      } else if (e.isNack) {
        server_->counters.nacks.fetch_add(1);
      }
      if (server_->callbacks != nullptr) {
        server_->callbacks->onRequest(streamId_, e.typeUrl, e.isAck, e.isNack, e.errorDetail);
      }
    }
    pump();
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writeInFlight_ = false;
      // Frees the response just sent: Clear() would keep every Any and its bytes for reuse, i.e.
      // a second copy of the largest response per stream (~10 KiB a proxy at 3 services) that
      // the snapshot already holds. The next write rebuilds it from the snapshot anyway.
      outgoing_ = Response();
      if (!ok && !finishWanted_) {
        finishWanted_ = true;
        finishStatus_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
    }
    pump();
  }

  void OnCancel() override {
    requestFinish(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }

  void OnDone() override {
    std::shared_ptr<StreamBase> keepAlive = std::move(self_);
    watch_.cancel();  // mu_ is not held: a running delivery may take it
    releaseNodeClaim();
    server_->unregisterStream(streamId_);
    if (opened_) {
      server_->counters.streamsActive.fetch_sub(1);
      if (server_->callbacks != nullptr) {
        server_->callbacks->onStreamClosed(streamId_, nodeId_);
      }
    }
  }

 protected:
  struct RequestEvent {
    std::string typeUrl;
    bool isAck = false;
    bool isNack = false;
    std::string errorDetail;
  };
  struct ResponseEvent {
    std::string typeUrl;
    std::string version;
    size_t resourceCount = 0;
  };

  /** Applies one request to the protocol state (mu_ held). An error ends the stream. */
  virtual absl::StatusOr<std::optional<RequestEvent>> handleRequestLocked(const Request& req) = 0;

  /** Fills out with the next response owed to the client, if any (mu_ held). */
  virtual bool buildNextLocked(Response& out, ResponseEvent& event) = 0;

  std::string nextNonceLocked() { return std::to_string(++nonceCounter_); }

  /** A NACK delays the stream's next response (Kuma: xdsServer.nackBackoff). */
  void startBackoffLocked() { notBefore_ = Clock::now() + server_->options.nackBackoff; }

  const std::string& controlPlaneId() const { return server_->options.controlPlaneId; }
  ServerCounters& counters() { return server_->counters; }

  std::mutex mu_;
  /** The node's latest snapshot; null until one is published. Guarded by mu_. */
  SnapshotConstSharedPtr snapshot_;

 private:
  grpc::Status open(const Request& req) {
    if (!req.has_node() || req.node().id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "node with a non-empty id is required in the first request");
    }
    nodeId_ = req.node().id();
    if (!server_->claimNode(nodeId_, streamId_)) {
      // Kuma returns a plain error from its callback, which gRPC reports as UNKNOWN.
      return grpc::Status(grpc::StatusCode::UNKNOWN,
                          "there is already an active stream from this node, try again later");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      claimedNode_ = true;
    }
    if (server_->callbacks != nullptr) {
      absl::Status status = server_->callbacks->onStreamOpen(streamId_, req.node(), info_);
      if (!status.ok()) {
        releaseNodeClaim();
        return toGrpcStatus(status);
      }
    }
    opened_ = true;
    server_->counters.streamsOpened.fetch_add(1);
    server_->counters.streamsActive.fetch_add(1);
    std::weak_ptr<StreamBase> weak = weakSelf_;
    watch_ = server_->cache.watch(nodeId_, [weak](const SnapshotConstSharedPtr& snapshot) {
      if (auto self = weak.lock()) {
        self->onSnapshot(snapshot, true);
      }
    });
    onSnapshot(server_->cache.getSnapshot(nodeId_), false);
    return grpc::Status::OK;
  }

  /** Lets the node connect again. Done as the stream finishes, before the client sees it end. */
  void releaseNodeClaim() {
    bool claimed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::swap(claimed, claimedNode_);
    }
    if (claimed) {
      server_->releaseNode(nodeId_, streamId_);
    }
  }

  void onSnapshot(const SnapshotConstSharedPtr& snapshot, bool fromWatch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fromWatch) {
        snapshotFromWatch_ = true;
      } else if (snapshotFromWatch_) {
        return;  // the watch already delivered something at least as new
      }
      snapshot_ = snapshot;
    }
    pump();
  }

  /** Starts the next write (or the finish) if the stream is idle. */
  void pump() {
    enum class Action { kNone, kWrite, kFinish } action = Action::kNone;
    ResponseEvent event;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finishIssued_ || writeInFlight_) {
        return;  // OnWriteDone() pumps again
      }
      if (finishWanted_) {
        finishIssued_ = true;
        status = finishStatus_;
        action = Action::kFinish;
      } else {
        Clock::time_point now = Clock::now();
        if (now < notBefore_) {
          if (!timerArmed_) {
            timerArmed_ = true;
            std::weak_ptr<StreamBase> weak = weakSelf_;
            server_->timer.schedule(notBefore_, [weak] {
              if (auto self = weak.lock()) {
                {
                  std::lock_guard<std::mutex> lock(self->mu_);
                  self->timerArmed_ = false;
                }
                self->pump();
              }
            });
          }
          return;
        }
        if (!buildNextLocked(outgoing_, event)) {
          return;
        }
        writeInFlight_ = true;
        action = Action::kWrite;
      }
    }
    if (action == Action::kFinish) {
      releaseNodeClaim();
      this->Finish(std::move(status));
      return;
    }
    server_->counters.responses.fetch_add(1);
    if (server_->callbacks != nullptr) {
      server_->callbacks->onResponse(streamId_, event.typeUrl, event.version, event.resourceCount);
    }
    if (server_->options.onResponseBytes) {
      // outgoing_ is ours until StartWrite(): writeInFlight_ keeps every other pump() away.
      server_->options.onResponseBytes(event.typeUrl, outgoing_.ByteSizeLong());
    }
    this->StartWrite(&outgoing_);
  }

  const std::shared_ptr<ServerState> server_;
  const int64_t streamId_;
  StreamInfo info_;

  // Read chain only (one reaction at a time) and OnDone().
  Request request_;
  bool opened_ = false;
  std::string nodeId_;  // written once, before claimedNode_ is set

  cache::WatchHandle watch_;
  std::shared_ptr<StreamBase> self_;
  std::weak_ptr<StreamBase> weakSelf_;

  // Guarded by mu_.
  Response outgoing_;  // owned by gRPC while writeInFlight_
  bool writeInFlight_ = false;
  bool finishWanted_ = false;
  bool finishIssued_ = false;
  grpc::Status finishStatus_;
  bool snapshotFromWatch_ = false;
  bool claimedNode_ = false;
  bool timerArmed_ = false;
  Clock::time_point notBefore_{};
  uint64_t nonceCounter_ = 0;
};

}  // namespace kuma::xds::server::internal
