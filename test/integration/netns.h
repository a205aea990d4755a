#pragma once

// File: netns.h
// For end-to-end tests of the transparent proxy: the test process moves into a network namespace
// of its own (every child inherits it) with its loopback up, where it may add iptables rules.
// Root is needed; without it, or without iptables, the helpers say what failed.

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/test_common/process.h"

namespace kuma::test {

/** The iptables binary, "" when not installed. */
inline std::string iptablesBinary() {
  for (const char* path : {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"}) {
    if (std::filesystem::exists(path)) {
      return path;
    }
  }
  return "";
}

/** Enters a new network namespace and brings its loopback up. @return "" or what failed. */
inline std::string enterNetworkNamespace() {
  if (unshare(CLONE_NEWNET) != 0) {
    return std::string("unshare(CLONE_NEWNET) failed (this test needs root): ") +
           std::strerror(errno);
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
                  (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
  const int err = errno;
  close(fd);
  if (!up) {
    return std::string("bringing lo up in the new network namespace failed: ") + std::strerror(err);
  }
  return "";
}

/**
 * Makes the IPv4 network of `address`/`mask` ("241.255.255.254", "255.0.0.0") local to this
 * namespace through an address on the loopback alias `lo:1`: connections to its other
 * addresses (VIPs nothing listens on) then meet the nat OUTPUT rules, as they would on a host
 * whose default route leaves through a real interface. @return "" or what failed.
 */
inline std::string addLoopbackNetwork(const char* address, const char* mask) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::string error;
  for (const auto& [request, value] :
       {std::pair{static_cast<unsigned long>(SIOCSIFADDR), address},
        std::pair{static_cast<unsigned long>(SIOCSIFNETMASK), mask}}) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo:1", IFNAMSIZ - 1);
    auto* in = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, value, &in->sin_addr) != 1) {
      error = std::string("bad address ") + value;
      break;
    }
    if (ioctl(fd, request, &ifr) != 0) {
      error = std::string("configuring lo:1 failed: ") + std::strerror(errno);
      break;
    }
  }
  close(fd);
  return error;
}

/** Runs `iptables args...` (10 s at most). @return "" or what failed. */
inline std::string iptables(const std::vector<std::string>& args) {
  const std::string binary = iptablesBinary();
  if (binary.empty()) {
    return "iptables not found (tools/setup.sh installs the iptables package)";
  }
  const ExitResult r = runToExit(binary, args, {}, std::chrono::seconds(10));
  if (r.exitCode != 0) {
    return "iptables failed (" + std::to_string(r.exitCode) + "): " + r.output;
  }
  return "";
}

/**
 * A fixture whose suite runs in a network namespace that `SetUpNamespace` (e.g.
 * enterNetworkNamespace plus rules; "" or what failed) prepares once, before anything starts.
 * SetUp() fails the test when that failed or KUMA_ENVOY_BINARY is unset and sets envoy_; a
 * subclass's SetUp() calls it first and returns on HasFatalFailure().
 */
template <std::string (*SetUpNamespace)()>
class InNetworkNamespace : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { namespaceError() = SetUpNamespace(); }

  void SetUp() override {
    ASSERT_EQ(namespaceError(), "") << "could not set up the network namespace";
    const char* envoy = std::getenv("KUMA_ENVOY_BINARY");
    ASSERT_TRUE(envoy != nullptr && *envoy != '\0') << "KUMA_ENVOY_BINARY is not set";
    envoy_ = envoy;
  }

  static std::string& namespaceError() {
    static std::string error = "SetUpTestSuite did not run";
    return error;
  }

  std::string envoy_;
};

}  // namespace kuma::test
