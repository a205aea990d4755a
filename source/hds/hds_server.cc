#include "source/hds/hds_server.h"

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/xds/server/timer_queue.h"
#include "source/xds/sync/node_metadata.h"

namespace kuma::hds {

namespace health_v3 = envoy::service::health::v3;
using Request = health_v3::HealthCheckRequestOrEndpointHealthResponse;
using Response = health_v3::HealthCheckSpecifier;
using Clock = std::chrono::steady_clock;

namespace {
class Stream;
}  // namespace

struct HdsServer::State {
  State(manager::ResourceManager& m, const model::TypeRegistry& registry, HdsServerOptions o)
      : manager(m), dataplaneType(registry.byName("Dataplane")), options(std::move(o)) {}

  manager::ResourceManager& manager;
  const model::ResourceTypeDescriptor* const dataplaneType;
  const HdsServerOptions options;
  /** The one worker: store reads and writes of every stream, in order. */
  xds::server::TimerQueue worker;
  std::atomic<int64_t> nextStreamId{0};
  /** Set when the server goes away: queued work is dropped (it would use `manager`). */
  std::atomic<bool> stopped{false};

  std::mutex mu;
  bool shuttingDown = false;
  std::map<int64_t, std::weak_ptr<Stream>> streams;
};

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::logger("hds");
  return logger;
}

class Stream : public grpc::ServerBidiReactor<Request, Response>,
               public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::shared_ptr<HdsServer::State> server, grpc::CallbackServerContext* context)
      : server_(std::move(server)), id_(server_->nextStreamId.fetch_add(1) + 1) {
    for (const auto& [key, value] : context->client_metadata()) {
      metadata_.emplace(std::string(key.data(), key.size()),
                        std::string(value.data(), value.size()));
    }
  }

  static void start(const std::shared_ptr<Stream>& stream) {
    stream->self_ = stream;
    {
      std::lock_guard<std::mutex> lock(stream->server_->mu);
      if (stream->server_->shuttingDown) {
        stream->requestFinish(
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane is shutting down"));
        return;
      }
      stream->server_->streams[stream->id_] = stream;
    }
    stream->StartRead(&stream->request_);
  }

  void requestFinish(grpc::Status status) {
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
      requestFinish(grpc::Status::OK);
      return;
    }
    if (request_.has_health_check_request()) {
      const auto& node = request_.health_check_request().node();
      if (nodeId_.empty()) {
        if (node.id().empty()) {
          requestFinish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "node with a non-empty id is required in the first request"));
          return;
        }
        auto parsed = xds::sync::parseNodeId(node.id());
        if (!parsed.ok()) {
          requestFinish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     std::string(parsed.status().message())));
          return;
        }
        nodeId_ = node.id();
        mesh_ = parsed->first;
        name_ = parsed->second;
        proxy_.adminSocketPath =
            xds::sync::parseNodeProxyMetadata(node).adminSocketPath.value_or("");
        started_ = Clock::now();
        onWorker(Clock::now(), [](Stream& s) { s.refresh(); });
      } else if (!node.id().empty() && node.id() != nodeId_) {
        requestFinish(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("stream was authenticated for ID ", nodeId_,
                                      ". Received request is for node with ID ", node.id(),
                                      ". Node ID cannot be changed after stream is initialized")));
        return;
      }
    }
    if (request_.has_endpoint_health_response() && !nodeId_.empty()) {
      // Only the latest report counts: one task per stream at most, whatever the client sends.
      bool schedule = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        latestReport_ = std::make_shared<const health_v3::EndpointHealthResponse>(
            request_.endpoint_health_response());
        schedule = !reportScheduled_;
        reportScheduled_ = true;
      }
      if (schedule) {
        onWorker(Clock::now(), [](Stream& s) {
          std::shared_ptr<const health_v3::EndpointHealthResponse> report;
          {
            std::lock_guard<std::mutex> lock(s.mu_);
            report = std::move(s.latestReport_);
            s.reportScheduled_ = false;
          }
          if (report != nullptr) {
            s.applyReport(*report);
          }
        });
      }
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writeInFlight_ = false;
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
    std::shared_ptr<Stream> keepAlive = std::move(self_);
    std::lock_guard<std::mutex> lock(server_->mu);
    server_->streams.erase(id_);
  }

 private:
  // Runs fn on the worker at `when` while the stream lives.
  void onWorker(Clock::time_point when, std::function<void(Stream&)> fn) {
    std::weak_ptr<Stream> weak = weak_from_this();
    std::shared_ptr<HdsServer::State> server = server_;
    server_->worker.schedule(when, [weak, server, fn = std::move(fn)] {
      if (server->stopped.load()) {
        return;
      }
      if (auto stream = weak.lock(); stream != nullptr && !stream->finishing()) {
        fn(*stream);
      }
    });
  }

  bool finishing() {
    std::lock_guard<std::mutex> lock(mu_);
    return finishWanted_;
  }

  // Worker: authenticates once, then sends the checks when they changed; runs again after
  // refreshInterval (1 s while the Dataplane is not stored yet).
  void refresh() {
    const HdsServerOptions& options = server_->options;
    if (!authenticated_ && options.authenticate) {
      // Kuma's DPNotFoundRetry: the proxy's own ADS stream may not have registered it yet.
      if (server_->dataplaneType != nullptr && Clock::now() - started_ < options.dataplaneWait &&
          absl::IsNotFound(
              server_->manager.get(*server_->dataplaneType, {name_, mesh_}).status())) {
        onWorker(Clock::now() + std::chrono::seconds(1), [](Stream& s) { s.refresh(); });
        return;
      }
      absl::Status auth = options.authenticate(mesh_, name_, metadata_);
      if (!auth.ok()) {
        requestFinish(
            grpc::Status(static_cast<grpc::StatusCode>(auth.code()), std::string(auth.message())));
        return;
      }
    }
    authenticated_ = true;
    if (server_->dataplaneType != nullptr) {
      auto found = server_->manager.get(*server_->dataplaneType, {name_, mesh_});
      const auto* spec =
          found.ok() ? model::protoSpecOf<mesh::v1alpha1::Dataplane>(**found) : nullptr;
      if (spec != nullptr) {
        send(healthCheckSpecifier(*spec, proxy_, options.specifier));
      } else if (!found.ok() && !absl::IsNotFound(found.status())) {
        log()->warn("could not read Dataplane {}.{}: {}", mesh_, name_,
                    std::string(found.status().message()));
      }
    }
    const auto next = std::chrono::duration_cast<Clock::duration>(options.refreshInterval);
    onWorker(Clock::now() + next, [](Stream& s) { s.refresh(); });
  }

  // Worker: Kuma's OnEndpointHealthResponse.
  void applyReport(const health_v3::EndpointHealthResponse& report) {
    if (!authenticated_ || server_->dataplaneType == nullptr) {
      return;
    }
    auto found = server_->manager.get(*server_->dataplaneType, {name_, mesh_});
    if (!found.ok()) {
      return;
    }
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(**found);
    if (spec == nullptr) {
      return;
    }
    std::string error;
    auto updated = dataplaneWithHealth(*spec, report, &error);
    if (!error.empty()) {
      log()->warn("ignoring a health report of {}.{}: {}", mesh_, name_, error);
      return;
    }
    if (!updated) {
      return;
    }
    model::Resource resource = **found;
    resource.spec =
        std::make_shared<const model::ProtoSpec<mesh::v1alpha1::Dataplane>>(std::move(*updated));
    auto written = server_->manager.update(std::move(resource));
    if (!written.ok()) {
      log()->warn("could not update the inbound states of Dataplane {}.{}: {}", mesh_, name_,
                  std::string(written.status().message()));
      return;
    }
    log()->debug("status updated dataplane={}.{}", mesh_, name_);
  }

  void send(Response response) {
    std::string bytes;
    response.SerializeToString(&bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (bytes == lastSent_) {
        return;
      }
      lastSent_ = std::move(bytes);
      pending_ = std::move(response);
    }
    pump();
  }

  // Starts the next write or the finish, outside mu_ (gRPC may run a reaction inline).
  void pump() {
    enum class Action { None, Write, Finish } action = Action::None;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writeInFlight_ || finished_) {
        return;
      }
      if (finishWanted_) {
        finished_ = true;
        status = finishStatus_;
        action = Action::Finish;
      } else if (pending_) {
        outgoing_ = std::move(*pending_);
        pending_.reset();
        writeInFlight_ = true;
        action = Action::Write;
      }
    }
    if (action == Action::Write) {
      StartWrite(&outgoing_);
    } else if (action == Action::Finish) {
      Finish(status);
    }
  }

  const std::shared_ptr<HdsServer::State> server_;
  const int64_t id_;
  std::multimap<std::string, std::string> metadata_;
  std::shared_ptr<Stream> self_;
  Request request_;

  // Set by the first request (gRPC read thread) before any worker task runs.
  std::string nodeId_;
  std::string mesh_;
  std::string name_;
  ProxyFacts proxy_;
  Clock::time_point started_;
  // Worker thread only.
  bool authenticated_ = false;

  std::mutex mu_;
  std::string lastSent_;                                                   // guarded by mu_
  std::shared_ptr<const health_v3::EndpointHealthResponse> latestReport_;  // guarded by mu_
  bool reportScheduled_ = false;                                           // guarded by mu_
  std::optional<Response> pending_;                                        // guarded by mu_
  Response outgoing_;           // owned by the write in flight
  bool writeInFlight_ = false;  // guarded by mu_
  bool finishWanted_ = false;   // guarded by mu_
  bool finished_ = false;       // guarded by mu_
  grpc::Status finishStatus_;   // guarded by mu_
};

}  // namespace

HdsServer::HdsServer(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                     HdsServerOptions options)
    : state_(std::make_shared<State>(manager, registry, std::move(options))) {}

HdsServer::~HdsServer() {
  shutdown();
  // No queued work may run from now on, and the one running finishes before the manager it
  // uses goes away: a barrier on the worker (bounded, should the store hang).
  state_->stopped.store(true);
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> barrier = done->get_future();
  state_->worker.schedule(Clock::now(), [done] { done->set_value(); });
  barrier.wait_for(std::chrono::seconds(5));
}

void HdsServer::shutdown() {
  std::vector<std::shared_ptr<Stream>> open;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->shuttingDown = true;
    for (auto& [id, weak] : state_->streams) {
      if (auto stream = weak.lock()) {
        open.push_back(std::move(stream));
      }
    }
  }
  for (auto& stream : open) {
    stream->requestFinish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane is shutting down"));
  }
}

grpc::ServerBidiReactor<Request, Response>* HdsServer::StreamHealthCheck(
    grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<Stream>(state_, context);
  Stream::start(stream);
  return stream.get();
}

}  // namespace kuma::hds
