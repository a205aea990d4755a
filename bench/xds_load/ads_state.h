#pragma once

// File: ads_state.h
// The xDS client side of one emulated Envoy, without gRPC: what to send at stream start, what to
// send for each response (subscriptions first, then the ACK, as Envoy does), what the proxy holds
// and what it has seen (bytes, resources, version changes with their arrival times). One object
// per proxy lives across reconnects; the caller serializes calls (one stream at a time).
//
// Subscriptions like Envoy with ADS: CDS and LDS wildcard at stream start, EDS for the EDS
// clusters CDS returned, RDS for the route configs LDS names. Every response is ACKed; nothing is
// ever NACKed. "Complete" = on the current stream, CDS and LDS answered and every subscribed EDS
// (RDS) name held.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/xds_load/options.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace kuma::bench::load {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class XdsType { Cds = 0, Lds = 1, Eds = 2, Rds = 3 };
inline constexpr size_t kXdsTypes = 4;

/** "CDS", "LDS", "EDS", "RDS". */
const char* xdsTypeName(XdsType type);
/** The v3 type URL of the type. */
const std::string& xdsTypeUrl(XdsType type);

/** One entry of a proxy's timeline. */
struct TimelineEvent {
  SteadyTime at;
  /** "open", "CDS"/"LDS"/"EDS"/"RDS" (a version change), "complete", "closed". */
  std::string kind;
  /** The new version (SotW version_info / delta system_version_info), or the close status. */
  std::string detail;
};

struct TypeStats {
  uint64_t responses = 0;
  uint64_t bytes = 0;
  /** Resources in all responses (a SotW response counts every resource it carries). */
  uint64_t resourcesReceived = 0;
};

class AdsState {
 public:
  AdsState(Protocol protocol, envoy::config::core::v3::Node node, bool recordTimeline = true);

  /** Requests that open a new stream (the first carries the node); resets per-stream state. */
  std::vector<envoy::service::discovery::v3::DiscoveryRequest> startSotw(SteadyTime now);
  std::vector<envoy::service::discovery::v3::DeltaDiscoveryRequest> startDelta(SteadyTime now);

  /** Subscription changes, then the ACK. Unknown types are ACKed and otherwise ignored. */
  std::vector<envoy::service::discovery::v3::DiscoveryRequest> onSotwResponse(
      const envoy::service::discovery::v3::DiscoveryResponse& response, SteadyTime now);
  std::vector<envoy::service::discovery::v3::DeltaDiscoveryRequest> onDeltaResponse(
      const envoy::service::discovery::v3::DeltaDiscoveryResponse& response, SteadyTime now);

  /** Complete on the current stream (see file comment). */
  bool complete() const;
  /** Subscribed EDS/RDS names not held yet (why a proxy is incomplete). */
  std::vector<std::string> missing() const;

  /** Records that the complete config's ACKs were written (once per stream). */
  void markCompleteAcked(SteadyTime now);
  /** Records the end of a stream (status text). */
  void markClosed(SteadyTime now, const std::string& status);

  /** Resources currently held of a type. */
  size_t held(XdsType type) const { return types_[static_cast<size_t>(type)].held.size(); }
  const TypeStats& stats(XdsType type) const { return types_[static_cast<size_t>(type)].stats; }
  uint64_t totalBytes() const;
  uint64_t totalResponses() const;
  uint64_t totalResourcesReceived() const;
  /** Resources that could not be decoded (counted, ACKed anyway). */
  uint64_t decodeErrors() const { return decodeErrors_; }
  size_t streams() const { return streams_; }
  bool completeOnStream() const { return completeAcked_; }
  /** When the first stream's config was complete and ACKed, if ever. */
  const std::optional<SteadyTime>& firstComplete() const { return firstComplete_; }
  const std::optional<SteadyTime>& firstStart() const { return firstStart_; }
  const std::vector<TimelineEvent>& timeline() const { return timeline_; }

 private:
  struct TypeState {
    /** Explicit subscription (EDS/RDS); CDS/LDS are wildcard. */
    std::set<std::string> names;
    /** Name → version (delta: the resource version; SotW: the response version). */
    std::map<std::string, std::string> held;
    /** Delta CDS/LDS: resource name → the EDS/RDS names it needs. */
    std::map<std::string, std::set<std::string>> deps;
    std::string version;     // last accepted (SotW version_info / delta system_version_info)
    std::string nonce;       // last received on the current stream
    bool requested = false;  // a request went out on the current stream
    bool answered = false;   // a response arrived on the current stream
    TypeStats stats;
  };

  TypeState& state(XdsType type) { return types_[static_cast<size_t>(type)]; }
  const TypeState& state(XdsType type) const { return types_[static_cast<size_t>(type)]; }
  void record(SteadyTime at, std::string kind, std::string detail);
  /** Names to follow up on from a CDS (EDS names) or LDS (RDS names) resource. */
  void collectDependencies(XdsType type, const google::protobuf::Any& resource,
                           std::set<std::string>& out, std::string& name);
  envoy::service::discovery::v3::DiscoveryRequest sotwRequest(XdsType type, bool withNonce);
  void beginStream(SteadyTime now);

  Protocol protocol_;
  envoy::config::core::v3::Node node_;
  bool recordTimeline_;
  bool nodeSent_ = false;
  TypeState types_[kXdsTypes];
  size_t streams_ = 0;
  bool completeAcked_ = false;
  uint64_t decodeErrors_ = 0;
  uint64_t deltaChanges_ = 0;
  std::optional<SteadyTime> firstStart_;
  std::optional<SteadyTime> firstComplete_;
  std::vector<TimelineEvent> timeline_;
};

}  // namespace kuma::bench::load
