#pragma once

// File: vip_allocator.h
// Kuma's VIP allocator (pkg/core/resources/apis/core/vip): every MeshService,
// MeshExternalService and MeshMultiZoneService without a VIP gets the next free address of its
// type's CIDR (ipam.meshService.cidr 241.0.0.0/8, ipam.meshExternalService.cidr 242.0.0.0/8,
// ipam.meshMultiZoneService.cidr 243.0.0.0/8), written into its status (`vips[].ip`; for a
// MeshExternalService `vip.ip`). Addresses are never freed: a cursor walks the CIDR from its
// first address and skips the ones in use, so a deleted service's VIP is not handed to the next
// one while clients may still resolve it (Kuma's reason). The state is rebuilt from the stored
// VIPs when the allocator starts, so VIPs stay stable across restarts.
//
//   VipAllocator allocator(manager, {{meshServiceType, "241.0.0.0/8"}, ...});
//   KUMA_RETURN_IF_ERROR(allocator.init());   // reserves the stored VIPs
//   allocator.allocate();                      // each allocation interval

#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/container/flat_hash_set.h"
#include "source/core/manager/resource_manager.h"

namespace kuma::services {

/** One CIDR's addresses: Nordix simple-ipam's behaviour, which Kuma uses. Not thread-safe. */
class Ipam {
 public:
  /** IPv4 or IPv6 CIDR ("241.0.0.0/8"); InvalidArgument otherwise. */
  static absl::StatusOr<Ipam> create(const std::string& cidr);
  /** Marks an address as used; false when outside the CIDR, not an address, or already used. */
  bool reserve(const std::string& address);
  /** The next unused address from the cursor on (wrapping); ResourceExhausted when none. */
  absl::StatusOr<std::string> allocate();

 private:
  bool v6_ = false;
  absl::uint128 first_ = 0;
  absl::uint128 size_ = 0;  // addresses in the CIDR (capped at 2^127 for huge IPv6 ranges)
  absl::uint128 cursor_ = 0;
  absl::flat_hash_set<absl::uint128> used_;
};

class VipAllocator {
 public:
  struct Target {
    const model::ResourceTypeDescriptor* type = nullptr;
    std::string cidr;
  };
  VipAllocator(manager::ResourceManager& manager, std::vector<Target> targets);

  /** Builds each CIDR's IPAM from the stored resources' VIPs. */
  absl::Status init();
  /** One pass: every resource of the targets' types without a VIP gets one (updates logged). */
  void allocate();

 private:
  manager::ResourceManager& manager_;
  std::vector<Target> targets_;
  std::vector<Ipam> ipams_;  // one per target, after init()
};

/** The VIPs recorded in a service resource's status (`vips[].ip`, or `vip.ip`). */
std::vector<std::string> vipsOf(const model::Resource& resource);

}  // namespace kuma::services
