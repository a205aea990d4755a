#pragma once

// File: vip_persistence.h
// The legacy VIPs of a mesh kept across restarts as Kuma 2.14 keeps them (spec §7.3.1,
// "Persistence"): a Config resource `kuma-<mesh>-dns-vips` (global scope, owned by the Mesh)
// whose `config` text is Kuma's default layout
//
//   {"0:backend":{"address":"240.0.0.0","outbounds":[{"Port":0,"TagSet":{"kuma.io/service":
//    "backend"},"Origin":"service"}]}, "1:httpbin.org":{...}}
//
// The reconciler reads it before a mesh's first context build (so a restarted kuma-cp, or one
// taking over a database Kuma 2.14 wrote, hands out the same VIPs and every proxy keeps its
// outbound listeners and DNS answers) and the leader writes it whenever the allocation changes.
//
//   VipPersistence vips(store, registry, [&] { return leader(); });
//   auto view = vips.load("default");          // "<kind>:<name>" → IPv4; empty: none
//   vips.save(context);                        // after a build: queued when the allocation moved

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"
#include "source/core/model/registry.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** Kuma's Config name of a mesh's VIPs: `kuma-<mesh>-dns-vips`. */
std::string vipConfigName(std::string_view mesh);

/** The mesh of a VIP Config name, or empty when `name` is not one. */
std::string meshOfVipConfig(std::string_view name);

/**
 * The allocator's view ("<kind>:<name>" → address) from a Config text in Kuma's default layout;
 * entries without an address are left out. Empty text: an empty view. InvalidArgument for text
 * that is not that layout (Kuma's experimental tag-first layout included), too large (> 64 MiB)
 * or too deep.
 */
absl::StatusOr<std::map<std::string, std::string>> parseVipConfig(std::string_view text);

/**
 * Kuma's default layout of `context`'s VIP view (MeshContext::virtualOutboundView()): per entry
 * with an address, the address and its outbounds (port, tags, origin) in the view's order.
 */
std::string vipConfigText(const MeshContext& context);

/**
 * Reads and writes the VIP Configs of every mesh. Writes are coalesced: a new allocation is
 * written by the persistence's own thread at most once per `flushInterval` per instance (a ramp
 * of new services moves the allocation once per service; Kuma's allocator also writes on a
 * timer). Thread-safe.
 */
class VipPersistence {
 public:
  /** `leader`: whether this instance may write (Kuma's allocator runs on the leader only). */
  VipPersistence(store::ResourceStore& store, const model::TypeRegistry& registry,
                 std::function<bool()> leader, absl::Duration flushInterval = absl::Seconds(1));
  /** Writes what is pending, then stops the thread. */
  ~VipPersistence();
  VipPersistence(const VipPersistence&) = delete;
  VipPersistence& operator=(const VipPersistence&) = delete;

  /**
   * The persisted view of `mesh` (remembered as its last known allocation); empty when there is
   * none or it cannot be read (logged: the mesh then allocates from scratch).
   */
  std::map<std::string, std::string> load(const std::string& mesh);

  /**
   * Queues `context`'s allocation for writing when this instance is leader and it differs from
   * the last one loaded or written for the mesh (create with the Mesh as owner, or update).
   * Failures are logged and retried by the next save.
   */
  void save(MeshContextConstSharedPtr context);

  /** Writes every queued allocation now (tests; the destructor). */
  void flush();

  /** The mesh's Config was deleted (with its Mesh): the next save writes it again. */
  void forget(const std::string& mesh);

 private:
  void loop();
  void write(const MeshContext& context);

  store::ResourceStore& store_;
  const model::ResourceTypeDescriptor* configType_;
  const model::ResourceTypeDescriptor* meshType_;
  const std::function<bool()> leader_;
  const absl::Duration flushInterval_;
  absl::Mutex writeMu_;  // one writer at a time (the thread or flush())
  absl::Mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> known_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, MeshContextConstSharedPtr> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kuma::xds
