#pragma once

// File: otlp_logs_collector.h
// An OpenTelemetry logs collector for end-to-end tests: OTLP's LogsService over plaintext gRPC
// on 127.0.0.1 (a free port), keeping every Export request it receives.
//
//   OtlpLogsCollector collector;
//   ... point Envoy at 127.0.0.1:collector.port() ...
//   for (const auto& record : collector.records()) { record.body().string_value(); }

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"

namespace kuma::test {

class OtlpLogsCollector {
 public:
  using Request = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
  using Record = opentelemetry::proto::logs::v1::LogRecord;
  using Resource = opentelemetry::proto::resource::v1::Resource;

  OtlpLogsCollector() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~OtlpLogsCollector() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }
  OtlpLogsCollector(const OtlpLogsCollector&) = delete;
  OtlpLogsCollector& operator=(const OtlpLogsCollector&) = delete;

  uint16_t port() const { return static_cast<uint16_t>(port_); }

  /** Every log record received so far, with the resource it came with. */
  std::vector<std::pair<Resource, Record>> records() const {
    std::lock_guard<std::mutex> lock(service_.mu);
    std::vector<std::pair<Resource, Record>> out;
    for (const Request& request : service_.requests) {
      for (const auto& logs : request.resource_logs()) {
        for (const auto& scope : logs.scope_logs()) {
          for (const auto& record : scope.log_records()) {
            out.emplace_back(logs.resource(), record);
          }
        }
      }
    }
    return out;
  }

 private:
  struct Service : opentelemetry::proto::collector::logs::v1::LogsService::Service {
    grpc::Status Export(
        grpc::ServerContext*, const Request* request,
        opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse*) override {
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back(*request);
      return grpc::Status::OK;
    }
    mutable std::mutex mu;
    std::vector<Request> requests;
  };

  int port_ = 0;
  Service service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace kuma::test
