#pragma once

// File: mesh_context.h
// Everything xDS generation needs to know about one mesh, computed once per mesh change and
// shared (read-only) by the generation of every proxy of that mesh: the Mesh spec, the
// endpoints and protocol of every `kuma.io/service`, the legacy service VIPs, the Mesh* policies
// (sorted by precedence), the legacy TrafficPermissions, a cache of resources that are identical
// for many proxies (outbound clusters and ClusterLoadAssignments), serialized once, and memos of
// what the policy plugins derive once per mesh (memo(), e.g. the parsed traffic permissions).
//
//   KUMA_ASSIGN_OR_RETURN(auto resources, loadMeshResources(store, registry, "default"));
//   KUMA_ASSIGN_OR_RETURN(auto context, MeshContext::build(std::move(resources)));
//   if (context->hash() == previousHash) { /* nothing changed, skip regeneration */ }

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "kuma/model/resource.h"
#include "kuma/store/resource_store.h"
#include "kuma/xds/protocol.h"
#include "kuma/xds/snapshot.h"
#include "nlohmann/json.hpp"
#include "source/core/model/registry.h"
#include "source/plugins/policies/core/target_ref.h"
#include "source/xds/context/virtual_outbound_view.h"
#include "source/xds/envoy/destination.h"

namespace kuma::xds {

inline constexpr char kServiceTag[] = "kuma.io/service";
inline constexpr char kProtocolTag[] = "kuma.io/protocol";
inline constexpr char kZoneTag[] = "kuma.io/zone";

// Protocol and isHttpProtocol() live in kuma/xds/protocol.h (shared with the policy plugins).

/** Case-insensitive parse; empty or unrecognised text gives Unknown. */
Protocol parseProtocol(std::string_view text);
/** Lowercase name ("http"); "unknown" for Unknown. */
std::string_view protocolName(Protocol protocol);

/** The raw inputs of one mesh, as read from the store. */
struct MeshResources {
  /** The Mesh resource itself (required; its meta.name is the mesh name). */
  model::ResourceConstSharedPtr mesh;
  std::vector<model::ResourceConstSharedPtr> dataplanes;
  std::vector<model::ResourceConstSharedPtr> externalServices;
  /** The mesh's Secrets that the ExternalServices' TLS data sources name (`secret: <name>`). */
  std::vector<model::ResourceConstSharedPtr> secrets;
  /** Mesh* policies of this mesh, keyed by type name ("MeshTimeout"). */
  std::map<std::string, std::vector<model::ResourceConstSharedPtr>> policies;
  /**
   * Legacy TrafficPermissions of this mesh: the RBAC fallback of inbounds no
   * MeshTrafficPermission selects (spec §8.4).
   */
  std::vector<model::ResourceConstSharedPtr> trafficPermissions;
  /**
   * Legacy TrafficRoutes of this mesh: when there is one, proxies that no MeshHTTPRoute or
   * MeshTCPRoute selects take Kuma's legacy outbound path (usesLegacyRouting()).
   */
  std::vector<model::ResourceConstSharedPtr> trafficRoutes;
  /** Legacy Timeouts of this mesh: the timeouts of the legacy outbound path. */
  std::vector<model::ResourceConstSharedPtr> timeouts;
  /**
   * The other legacy policies of this mesh by type name (kLegacyPolicyTypes: HealthCheck,
   * CircuitBreaker, Retry, FaultInjection ...), read by their plugins (legacyPolicies()).
   */
  std::map<std::string, std::vector<model::ResourceConstSharedPtr>> legacy;
  /** Legacy VirtualOutbounds of this mesh: extra VIP hostnames (virtual_outbound_view.h). */
  std::vector<model::ResourceConstSharedPtr> virtualOutbounds;
  /**
   * The allocator's previous view ("<kind>:<name>" → IPv4, MeshContext::vipAllocation() of the
   * mesh's last context): known entries keep their addresses, so a new service does not move
   * the VIPs of the others (and with them every proxy's outbound listeners). Empty: a fresh view.
   */
  std::map<std::string, std::string> vipView;
  /** `dnsServer.CIDR`: where the allocator takes legacy VIPs from. */
  std::string vipCidr = "240.0.0.0/4";
  /** `dnsServer.serviceVipPort`: the port of every VIP's default outbound. */
  uint32_t vipPort = 80;
};

/**
 * Legacy selector policy types in MeshResources::legacy, each read by the plugin of its folder
 * (source/plugins/policies/<type>/): their changes rebuild the mesh context.
 */
inline constexpr std::string_view kLegacyPolicyTypes[] = {
    "HealthCheck", "CircuitBreaker", "Retry",        "FaultInjection",
    "RateLimit",   "TrafficLog",     "TrafficTrace", "ProxyTemplate"};

/** Policy types the xDS generators read. */
inline constexpr std::string_view kMeshTimeout = "MeshTimeout";
inline constexpr std::string_view kMeshCircuitBreaker = "MeshCircuitBreaker";
inline constexpr std::string_view kMeshRetry = "MeshRetry";
inline constexpr std::string_view kMeshTrafficPermission = "MeshTrafficPermission";

inline constexpr std::string_view kMeshHTTPRoute = "MeshHTTPRoute";
inline constexpr std::string_view kMeshTCPRoute = "MeshTCPRoute";

/**
 * Reads the Mesh `mesh` and every Dataplane, ExternalService, TrafficPermission, TrafficRoute,
 * Timeout, legacy policy of kLegacyPolicyTypes and Mesh* policy
 * of it from `store` (types looked up in `registry`; absent types are skipped).
 * @return NotFound when the Mesh does not exist, or the store's error.
 */
absl::StatusOr<MeshResources> loadMeshResources(store::ResourceStore& store,
                                                const model::TypeRegistry& registry,
                                                const std::string& mesh);

/** A Mesh* policy with its parsed top-level targetRef, in precedence order. */
struct PolicyEntry {
  model::ResourceConstSharedPtr resource;
  policies::TargetRef targetRef;
  /** The normalized spec (keys sorted). */
  const nlohmann::json* spec = nullptr;
};

class MeshContext {
 public:
  /**
   * Indexes `resources`. Dataplanes whose spec is not a Dataplane message are rejected.
   * `previous` (optional: the mesh's last context) makes the build incremental: a Dataplane
   * that is the very same stored object as in `previous` reuses what was derived from it (its
   * hash and endpoints), and a service whose Dataplanes are all reused keeps its endpoint list,
   * protocol and hash. The result is the same as without `previous`.
   * @return InvalidArgument when the mesh resource is missing or a resource is malformed.
   */
  static absl::StatusOr<std::shared_ptr<const MeshContext>> build(
      MeshResources resources, const MeshContext* previous = nullptr);

  const std::string& meshName() const { return meshName_; }
  const mesh::v1alpha1::Mesh& mesh() const { return mesh_; }

  /** Content hash of every input (specs, names, labels, VIPs): equal inputs ⇒ equal hash. */
  uint64_t hash() const { return hash_; }

  /**
   * Content hash of the inputs every proxy's config may depend on: everything except the
   * Dataplanes and the VIPs, which reach a proxy only through the services it sends traffic to
   * (serviceHash()) and the VIP map (vipsHash()). A Dataplane joining or leaving changes
   * hash() but not baseHash(), so proxies that do not talk to its service can skip regeneration.
   */
  uint64_t baseHash() const { return baseHash_; }
  /** Content hash of vips(). */
  uint64_t vipsHash() const { return vipsHash_; }
  /** Content hash of what a proxy can read about `service`: endpoints, protocol, VIP (0: none). */
  uint64_t serviceHash(const std::string& service) const;
  /** Every service with endpoints or a VIP → serviceHash(), sorted by name. */
  const std::map<std::string, uint64_t>& serviceHashes() const { return serviceHashes_; }

  /** Healthy Ready endpoints of `service`, sorted by address then port; empty when unknown. */
  const std::vector<Endpoint>& endpoints(const std::string& service) const;

  /**
   * The protocol of `service` inferred from the `kuma.io/protocol` tag of its endpoints (common
   * protocol of all of them; Unknown without endpoints or tags).
   */
  Protocol protocol(const std::string& service) const;

  /** Every service with at least one healthy endpoint, sorted. */
  std::vector<std::string> services() const;

  /** Legacy VIPs: service → IPv4 address. */
  const std::map<std::string, std::string>& vips() const { return vip_->vips; }
  /** The allocation behind vips() with hosts too ("<kind>:<name>" → IPv4): the next vipView. */
  const std::map<std::string, std::string>& vipAllocation() const { return vip_->allocation; }
  /** Kuma's VIP view of the mesh: every hostname with its address and outbounds. */
  const VirtualOutboundView& virtualOutboundView() const { return vip_->view; }
  /** The legacy VIP outbounds of transparent proxies (Kuma's VIPOutbounds), in Kuma's order. */
  const std::vector<VipOutbound>& vipOutbounds() const { return vip_->outbounds.outbounds; }
  /** The names of the VIPs (Kuma's VIPDomains), in Kuma's order. */
  const std::vector<VipDomain>& vipDomains() const { return vip_->outbounds.domains; }
  /** Positions in vipOutbounds() of the outbounds to `service`, ascending; nullptr: none. */
  const std::vector<size_t>* vipOutboundsOf(const std::string& service) const;

  const std::vector<model::ResourceConstSharedPtr>& dataplanes() const { return dataplanes_; }
  /** Legacy ExternalServices of the mesh, sorted by name. */
  const std::vector<model::ResourceConstSharedPtr>& externalServices() const {
    return inputs_.externalServices;
  }

  /** The Secret `name` of the mesh an ExternalService's data source names, or nullptr. */
  const model::Resource* secret(std::string_view name) const;

  /** Policies of `type`, sorted ascending by precedence (the last one wins on merge). */
  const std::vector<PolicyEntry>& policies(std::string_view type) const;

  /** Legacy TrafficPermissions of the mesh, sorted by name. */
  const std::vector<model::ResourceConstSharedPtr>& trafficPermissions() const {
    return inputs_.trafficPermissions;
  }
  /** Legacy TrafficRoutes of the mesh, sorted by name. */
  const std::vector<model::ResourceConstSharedPtr>& trafficRoutes() const {
    return inputs_.trafficRoutes;
  }
  /** Legacy Timeouts of the mesh, sorted by name. */
  const std::vector<model::ResourceConstSharedPtr>& timeouts() const { return inputs_.timeouts; }
  /** The legacy policies of `type` (one of kLegacyPolicyTypes) of the mesh, sorted by name. */
  const std::vector<model::ResourceConstSharedPtr>& legacyPolicies(std::string_view type) const;

  /**
   * Kuma's legacy outbound path for `dataplane`: the mesh has at least one TrafficRoute and no
   * MeshHTTPRoute or MeshTCPRoute selects the proxy (top-level targetRef). Kuma 2.14 then builds
   * the outbounds from TrafficRoutes (OutboundProxyGenerator) and its MeshHTTPRoute/MeshTCPRoute
   * plugins step aside; the legacy `Timeout` policy decides the outbound listeners' timeouts.
   * Read by the trafficroute plugin, MeshTimeout, and the route plugins (to return early).
   */
  bool usesLegacyRouting(const model::Resource& dataplane) const;

  /**
   * A value derived once per context and shared by every proxy of it (a plugin's parsed view of
   * its policies): built by `make` the first time `key` is asked for. Thread-safe; built exactly
   * once per key (racing callers wait). `key` names the deriving plugin ("mtp|permissions") and
   * T must be what every caller of that key expects.
   */
  template <class T>
  std::shared_ptr<const T> memo(const std::string& key,
                                const std::function<std::shared_ptr<const T>()>& make) const {
    return std::static_pointer_cast<const T>(
        memoSlot("memo|" + key, [&]() -> std::shared_ptr<const void> { return make(); }));
  }

  /**
   * A resource shared by every proxy of this context: built by `make` the first time `key` is
   * asked for, then returned as the same object. Thread-safe and built exactly once per key:
   * racing callers of the same key wait for the first one's `make` (so a resource is serialized
   * once per context however many proxies ask), while different keys build in parallel.
   */
  ResourceConstSharedPtr sharedResource(const std::string& key,
                                        const std::function<ResourceConstSharedPtr()>& make) const;

  /**
   * sharedResource() for a group of resources built together (one destination's clusters), keyed
   * by the proxy's policy signature and the group's name.
   */
  struct SharedGroup {
    std::vector<std::pair<std::string, ResourceConstSharedPtr>> resources;  // by type URL
    std::vector<std::string> services;  // other services whose endpoints they carry
  };
  std::shared_ptr<const SharedGroup> sharedGroup(
      std::string_view signature, std::string_view name,
      const std::function<std::shared_ptr<const SharedGroup>()>& make) const;

  /**
   * How many times sharedResource() ran `make` on this context: the number of shared resources
   * serialized so far. Makes the "serialize once, share everywhere" design observable in tests.
   */
  uint64_t sharedBuilds() const { return sharedBuilds_.load(std::memory_order_relaxed); }

 private:
  MeshContext() = default;

  std::string meshName_;
  mesh::v1alpha1::Mesh mesh_;
  uint64_t hash_ = 0;
  uint64_t baseHash_ = 0;
  uint64_t vipsHash_ = 0;
  std::map<std::string, uint64_t> serviceHashes_;
  MeshResources inputs_;
  std::vector<model::ResourceConstSharedPtr> dataplanes_;

  /** What one Dataplane contributes; derived once per stored object, reused by later builds. */
  struct DataplaneDigest {
    uint64_t hash = 0;                                        // its canonical content
    std::vector<std::pair<std::string, Endpoint>> endpoints;  // (service, endpoint), usable ones
    std::vector<std::string> vipServices;                     // services its inbounds give a VIP
  };
  std::unordered_map<const model::Resource*, std::shared_ptr<const DataplaneDigest>> digests_;
  /** One service's endpoints and what is derived from them. */
  struct ServiceIndex {
    std::vector<const DataplaneDigest*> from;  // contributing Dataplanes, in name order
    std::shared_ptr<const std::vector<Endpoint>> endpoints;  // sorted
    Protocol protocol = Protocol::Unknown;
    uint64_t endpointsHash = 0;  // protocol and endpoints (serviceHash adds the VIP)
  };
  std::map<std::string, ServiceIndex> services_;

  static absl::StatusOr<std::shared_ptr<const DataplaneDigest>> digestOf(
      const model::Resource& dataplane);
  /** Fills `index` (endpoints, protocol, hash) from its `from` Dataplanes. */
  static void indexService(const std::string& service, ServiceIndex& index);

 public:
  /** Everything derived from the VIP view; shared by the next context when its inputs match. */
  struct VipState {
    VirtualOutboundView view;
    std::map<std::string, std::string> allocation;  // "<kind>:<name>" → IPv4 (allocated ones)
    std::map<std::string, std::string> vips;        // service → its VIP
    VipOutbounds outbounds;
    std::map<std::string, std::vector<size_t>> byService;  // positions in outbounds.outbounds
    std::map<std::string, std::string> textOf;  // service → its outbounds and names (hashed)
    std::string canonical;                      // every outbound and name (vipsHash)
  };

 private:
  static absl::StatusOr<std::shared_ptr<const VipState>> buildVipState(
      const MeshResources& resources, const std::unordered_set<std::string_view>& vipServices);
  std::shared_ptr<const VipState> vip_;
  uint64_t vipInputsHash_ = 0;  // what vip_ was derived from (see build())
  std::map<std::string, std::vector<PolicyEntry>, std::less<>> policies_;

  std::shared_ptr<const void> memoSlot(const std::string& key,
                                       const std::function<std::shared_ptr<const void>()>& make,
                                       bool countBuild = false) const;

  // One slot per shared key; the slot's own mutex is held while its resource is built, so that
  // other proxies asking for it wait instead of building it again.
  struct SharedSlot {
    absl::Mutex mutex;
    std::shared_ptr<const void> value ABSL_GUARDED_BY(mutex);
    bool built ABSL_GUARDED_BY(mutex) = false;
  };
  mutable absl::Mutex mutex_;
  // Hashed: the keys of shared groups start with long policy signatures that ordered
  // comparisons would walk again and again.
  mutable absl::flat_hash_map<std::string, std::shared_ptr<SharedSlot>> shared_
      ABSL_GUARDED_BY(mutex_);
  mutable std::atomic<uint64_t> sharedBuilds_{0};
};
using MeshContextConstSharedPtr = std::shared_ptr<const MeshContext>;

/**
 * Allocates legacy VIPs like Kuma's allocator (§7.3.1): an entry of `sortedServices` present in
 * `view` (the previous allocation) keeps its address when it lies in `cidr`; every address of
 * `view` inside `cidr` is reserved (a dropped entry's address is reused only by a later
 * allocation); the other entries, in order, take the lowest free addresses of `cidr` starting at
 * its network address. Entries beyond the CIDR's size are left out.
 * @return InvalidArgument for a malformed IPv4 CIDR.
 */
absl::StatusOr<std::map<std::string, std::string>> allocateVips(
    const std::vector<std::string>& sortedServices, const std::string& cidr,
    const std::map<std::string, std::string>& view = {});

}  // namespace kuma::xds
