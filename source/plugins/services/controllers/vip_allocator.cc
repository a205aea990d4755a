#include "source/plugins/services/controllers/vip_allocator.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/logging.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::services {
namespace {

constexpr std::string_view kMeshExternalService = "MeshExternalService";

struct Address {
  bool v6 = false;
  absl::uint128 value = 0;
};

std::optional<Address> parseAddress(const std::string& text) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    absl::uint128 v = 0;
    for (int i = 0; i < 4; i++) {
      v = (v << 8) | bytes[i];
    }
    return Address{false, v};
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
    absl::uint128 v = 0;
    for (unsigned char b : bytes) {
      v = (v << 8) | b;
    }
    return Address{true, v};
  }
  return std::nullopt;
}

std::string formatAddress(bool v6, absl::uint128 value) {
  std::array<unsigned char, 16> bytes{};
  const int n = v6 ? 16 : 4;
  for (int i = n - 1; i >= 0; i--) {
    bytes[i] = static_cast<unsigned char>(absl::Uint128Low64(value) & 0xff);
    value >>= 8;
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), out, sizeof(out));
  return out;
}

}  // namespace

absl::StatusOr<Ipam> Ipam::create(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  int prefix = 0;
  std::optional<Address> base;
  if (slash != std::string::npos) {
    base = parseAddress(cidr.substr(0, slash));
  }
  if (!base.has_value() || !absl::SimpleAtoi(cidr.substr(slash + 1), &prefix) || prefix < 0 ||
      prefix > (base->v6 ? 128 : 32)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", cidr));
  }
  const int bits = (base->v6 ? 128 : 32) - prefix;
  Ipam ipam;
  ipam.v6_ = base->v6;
  ipam.size_ = bits >= 127 ? (absl::uint128(1) << 127) : (absl::uint128(1) << bits);
  const absl::uint128 hostMask = bits >= 128 ? ~absl::uint128(0) : (absl::uint128(1) << bits) - 1;
  ipam.first_ = base->value & ~hostMask;
  return ipam;
}

bool Ipam::reserve(const std::string& address) {
  std::optional<Address> a = parseAddress(address);
  if (!a.has_value() || a->v6 != v6_ || a->value < first_ || a->value - first_ >= size_) {
    return false;
  }
  return used_.insert(a->value - first_).second;
}

absl::StatusOr<std::string> Ipam::allocate() {
  if (absl::uint128(used_.size()) >= size_) {
    return absl::ResourceExhaustedError("No addresses left");
  }
  while (true) {
    const absl::uint128 offset = cursor_;
    cursor_ = cursor_ + 1 == size_ ? 0 : cursor_ + 1;
    if (used_.insert(offset).second) {
      return formatAddress(v6_, first_ + offset);
    }
  }
}

std::vector<std::string> vipsOf(const model::Resource& resource) {
  std::vector<std::string> out;
  const SpecAndStatus s = specAndStatusOf(resource);
  if (auto vip = s.status.find("vip"); vip != s.status.end() && vip->is_object()) {
    if (auto ip = vip->find("ip");
        ip != vip->end() && ip->is_string() && !ip->get_ref<const std::string&>().empty()) {
      out.push_back(ip->get<std::string>());
    }
  }
  if (auto vips = s.status.find("vips"); vips != s.status.end() && vips->is_array()) {
    for (const auto& v : *vips) {
      if (auto ip = v.find("ip"); v.is_object() && ip != v.end() && ip->is_string()) {
        out.push_back(ip->get<std::string>());
      }
    }
  }
  return out;
}

VipAllocator::VipAllocator(manager::ResourceManager& manager, std::vector<Target> targets)
    : manager_(manager), targets_(std::move(targets)) {}

absl::Status VipAllocator::init() {
  ipams_.clear();
  for (const Target& target : targets_) {
    absl::StatusOr<Ipam> ipam = Ipam::create(target.cidr);
    if (!ipam.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("could not allocate IPAM of CIDR ",
                                                     target.cidr, ": ", ipam.status().message()));
    }
    auto list = manager_.store().list(*target.type, {});
    if (!list.ok()) {
      return list.status();
    }
    for (const auto& resource : list->items) {
      for (const std::string& vip : vipsOf(*resource)) {
        ipam->reserve(vip);  // an address outside the CIDR is ignored, as in Kuma
      }
    }
    ipams_.push_back(std::move(*ipam));
  }
  return absl::OkStatus();
}

void VipAllocator::allocate() {
  auto log = logging::logger("vips");
  for (size_t i = 0; i < targets_.size() && i < ipams_.size(); i++) {
    const model::ResourceTypeDescriptor& type = *targets_[i].type;
    auto list = manager_.store().list(type, {});
    if (!list.ok()) {
      log->error("could not allocate vips for {}: {}", type.name, list.status().ToString());
      continue;
    }
    for (const auto& resource : list->items) {
      if (!vipsOf(*resource).empty()) {
        continue;
      }
      absl::StatusOr<std::string> ip = ipams_[i].allocate();
      if (!ip.ok()) {
        log->error("could not allocate vip for {} {}: {}", type.name, resource->meta.name,
                   std::string(ip.status().message()));
        break;
      }
      SpecAndStatus s = specAndStatusOf(*resource);
      if (type.name == kMeshExternalService) {
        s.status["vip"] = {{"ip", *ip}};
      } else {
        s.status["vips"].push_back({{"ip", *ip}});
      }
      if (writeSpecAndStatus(manager_, *resource, s.spec, s.status, "vips", "allocated VIP").ok()) {
        log->info("allocating IP {} for {} {} (mesh {})", *ip, type.name, resource->meta.name,
                  resource->meta.mesh);
      }
    }
  }
}

}  // namespace kuma::services
