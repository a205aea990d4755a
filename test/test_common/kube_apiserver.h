#pragma once

// File: kube_apiserver.h
// A throwaway Kubernetes control plane for tests: a real etcd and a real kube-apiserver (built by
// tools/k8s/build.sh, see docs/kubernetes.md) on free loopback ports, with their own temporary
// directory, a generated CA and serving certificate, a service-account signing key and a static
// admin token (group system:masters). Everything is stopped and removed at destruction. There is
// no kubelet and no controller-manager: Pods never run.
//
//   auto k8s = kuma::test::KubeApiServer::launch();
//   ASSERT_TRUE(k8s.ok()) << k8s.status();   // names the missing binary or shows the logs
//   auto answer = (*k8s)->request("GET", "/api/v1/namespaces/default");
//   ASSERT_EQ(answer->status, 200);
//
// Binaries: Options, else $KUMA_ETCD_BINARY / $KUMA_KUBE_APISERVER_BINARY (set by the test
// registration from build/deps/k8s). Every wait is bounded.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::test {

class ChildProcess;

class KubeApiServer {
 public:
  struct Options {
    /** Empty: $KUMA_ETCD_BINARY. */
    std::string etcdBinary;
    /** Empty: $KUMA_KUBE_APISERVER_BINARY. */
    std::string apiServerBinary;
    /** Extra kube-apiserver flags, e.g. {"--disable-admission-plugins=ServiceAccount"}. */
    std::vector<std::string> extraApiServerArgs;
    /** Until etcd answers /health and then until kube-apiserver answers /readyz (each). */
    std::chrono::seconds readyTimeout{120};
  };

  static absl::StatusOr<std::unique_ptr<KubeApiServer>> launch(Options options);
  static absl::StatusOr<std::unique_ptr<KubeApiServer>> launch() { return launch(Options{}); }

  /** Stops kube-apiserver then etcd (SIGTERM, then SIGKILL) and removes the directory. */
  ~KubeApiServer();
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  /** https://127.0.0.1:<port> */
  std::string url() const;
  /** The CA that signed the serving certificate (PEM file path and content). */
  const std::string& caFile() const { return caFile_; }
  const std::string& caPem() const { return caPem_; }
  /** Bearer token of the `kuma-test-admin` user (group system:masters). */
  const std::string& adminToken() const { return adminToken_; }
  /** A kubeconfig file for the admin user (for clients that read one). */
  const std::string& kubeconfigFile() const { return kubeconfigFile_; }
  const std::string& rootDir() const { return rootDir_; }

  struct Response {
    int status = 0;
    std::string body;
    std::string contentType;
  };
  /**
   * One HTTPS request as the admin user, verifying the serving certificate against the CA.
   * @param body sent with `contentType` when not empty (POST/PUT/PATCH).
   * @return Unavailable when the connection fails; any HTTP status is a Response.
   */
  absl::StatusOr<Response> request(const std::string& method, const std::string& path,
                                   const std::string& body = "",
                                   const std::string& contentType = "application/json") const;

  /** The last `maxBytes` of each process' output, for failure messages. */
  std::string logs(size_t maxBytes = 4000) const;

 private:
  KubeApiServer() = default;
  absl::Status startEtcd(const Options& options);
  absl::Status startApiServer(const Options& options);

  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  uint16_t etcdClientPort_ = 0;
  uint16_t etcdPeerPort_ = 0;
  std::string rootDir_;
  std::string caFile_;
  std::string caPem_;
  std::string adminToken_;
  std::string kubeconfigFile_;
  std::unique_ptr<ChildProcess> etcd_;
  std::unique_ptr<ChildProcess> apiServer_;
};

}  // namespace kuma::test
