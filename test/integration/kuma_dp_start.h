#pragma once

// File: kuma_dp_start.h
// Running our kuma-dp (with a real Envoy) against a test kuma-cp for a Dataplane given as YAML,
// and talking to things on the side: kuma-dp's readiness, Envoy's admin Unix socket, raw TCP.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "test/test_common/process.h"

namespace kuma::test {

struct KumaDpProcess {
  std::string name;
  std::string workDir;
  uint16_t readinessPort = 0;
  std::unique_ptr<ChildProcess> process;

  /** Envoy's admin socket, where kuma-cp's default bootstrap puts it. */
  std::string adminSocket() const { return workDir + "/kuma-envoy-admin.sock"; }
};

/**
 * `kuma-dp run -d <dataplaneYaml>` against `cp` (no DNS unless `extraArgs` has a --dns-enabled
 * flag, 1s drain, token-less), its work dir under `dir`, with `env` added to its environment and
 * `extraArgs` to its flags. An empty `dataplaneYaml` runs it as on Kubernetes: `--name <name>`
 * and no definition (`extraArgs` gives `--mesh`).
 */
inline KumaDpProcess startKumaDp(const KumaCp& cp, const std::string& envoy, const std::string& dir,
                                 const std::string& name, const std::string& dataplaneYaml,
                                 std::map<std::string, std::string> env = {},
                                 const std::vector<std::string>& extraArgs = {}) {
  KumaDpProcess dp;
  dp.name = name;
  dp.workDir = dir + "/" + name;
  dp.readinessPort = freePort();
  const std::string file = dir + "/" + name + ".yaml";
  if (!dataplaneYaml.empty()) {
    std::ofstream(file) << dataplaneYaml;
  }
  std::vector<std::string> args = {"run",
                                   "--cp-address",
                                   "https://127.0.0.1:" + std::to_string(cp.dpServerPort()),
                                   "--ca-cert-file",
                                   cp.workDir() + "/kuma-cp.crt",
                                   "--binary-path",
                                   envoy,
                                   "--dns-enabled=false",
                                   "--drain-time",
                                   "1s",
                                   "--concurrency",
                                   "1",
                                   "--work-dir",
                                   dp.workDir};
  if (dataplaneYaml.empty()) {
    args.insert(args.end(), {"--name", name});
  } else {
    args.insert(args.end(), {"-d", file});
  }
  for (const std::string& arg : extraArgs) {
    if (arg.rfind("--dns-enabled", 0) == 0) {
      args.erase(std::find(args.begin(), args.end(), "--dns-enabled=false"));
    }
  }
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  env["KUMA_READINESS_PORT"] = std::to_string(dp.readinessPort);
  env["KUMA_CONTROL_PLANE_RETRY_BACKOFF"] = "200ms";
  dp.process = ChildProcess::start(binaryPath("kuma-dp"), args, env, dir + "/" + name + ".log");
  return dp;
}

/** Status of GET /ready on kuma-dp's readiness port (0 when nothing answers). */
inline int kumaDpReadiness(const KumaDpProcess& dp) {
  httplib::Client client("127.0.0.1", dp.readinessPort);
  client.set_connection_timeout(std::chrono::seconds(1));
  client.set_read_timeout(std::chrono::seconds(3));
  auto res = client.Get("/ready");
  return res ? res->status : 0;
}

/** Waits (30 s at most) for kuma-dp to report ready; a failure prints both logs. */
inline void expectKumaDpReady(const KumaDpProcess& dp, const KumaCp& cp) {
  const bool ready =
      eventually([&] { return kumaDpReadiness(dp) == 200; }, std::chrono::seconds(30));
  ASSERT_TRUE(ready) << dp.name << ":\n" << dp.process->output() << "\nkuma-cp:\n" << cp.output();
}

/**
 * One HTTP/1.1 GET over the Unix socket `path` (Envoy's admin). @return (status, body), nullopt
 * when nobody listens there.
 */
inline std::optional<std::pair<int, std::string>> unixHttpGet(const std::string& path,
                                                              const std::string& target) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    close(fd);
    return std::nullopt;
  }
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\n<body>" (chunked bodies keep their framing; callers search).
  const auto space = response.find(' ');
  const auto headersEnd = response.find("\r\n\r\n");
  if (space == std::string::npos || headersEnd == std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(std::atoi(response.c_str() + space + 1), response.substr(headersEnd + 4));
}

/** Connects the socket `fd` to `ip`:`port` and exchanges as tcpExchange() does; closes `fd`. */
inline std::optional<std::string> exchangeOn(int fd, const std::string& ip, uint16_t port,
                                             const std::string& request) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

/**
 * Opens a TCP connection to `ip`:`port`, sends `request` and returns what came back before the
 * peer closed or 2 s passed; nullopt when the connection could not be opened.
 */
inline std::optional<std::string> tcpExchange(const std::string& ip, uint16_t port,
                                              const std::string& request) {
  return exchangeOn(socket(AF_INET, SOCK_STREAM, 0), ip, port, request);
}

/**
 * tcpExchange() from the local address `source` (bound before connecting): lets iptables rules
 * match the test's own connections by source and leave Envoy's upstream connections alone.
 */
inline std::optional<std::string> tcpExchangeFrom(const std::string& source, const std::string& ip,
                                                  uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    close(fd);
    return std::nullopt;
  }
  return exchangeOn(fd, ip, port, request);
}

/** A plain HTTP workload on `address`:`port` counting what reaches it. */
class CountingApp {
 public:
  CountingApp(std::string name, uint16_t port, const std::string& address = "0.0.0.0")
      : name_(std::move(name)) {
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content("hello from " + name_, "text/plain");
    });
    bound_ = server_.bind_to_port(address, port);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~CountingApp() {
    server_.stop();
    thread_.join();
  }
  bool bound() const { return bound_; }
  int hits() const { return hits_; }

 private:
  std::string name_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> hits_ = 0;
  bool bound_ = false;
};

}  // namespace kuma::test
