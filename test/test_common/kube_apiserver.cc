#include "test/test_common/kube_apiserver.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "httplib.h"
#include "source/common/crypto/pki.h"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

constexpr char kAdminUser[] = "kuma-test-admin";
constexpr auto kStopTimeout = std::chrono::seconds(15);

std::string binaryFrom(const std::string& given, const char* variable) {
  if (!given.empty()) {
    return given;
  }
  const char* value = std::getenv(variable);
  return value != nullptr ? std::string(value) : std::string();
}

absl::Status writeFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out || chmod(path.c_str(), mode) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

/** 32 hex characters from /dev/urandom. */
std::string randomToken() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[16] = {};
  in.read(reinterpret_cast<char*>(bytes), sizeof(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::string tail(const std::string& text, size_t maxBytes) {
  return text.size() <= maxBytes ? text : "..." + text.substr(text.size() - maxBytes);
}

}  // namespace

absl::StatusOr<std::unique_ptr<KubeApiServer>> KubeApiServer::launch(Options options) {
  options.etcdBinary = binaryFrom(options.etcdBinary, "KUMA_ETCD_BINARY");
  options.apiServerBinary = binaryFrom(options.apiServerBinary, "KUMA_KUBE_APISERVER_BINARY");
  for (const auto& [what, path] : {std::pair<const char*, std::string>{"etcd", options.etcdBinary},
                                   {"kube-apiserver", options.apiServerBinary}}) {
    if (path.empty() || access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " binary `", path,
                       "` is missing: run tools/setup.sh (builds it into ~/.cache/kuma-cpp/k8s, "
                       "see docs/kubernetes.md)"));
    }
  }
  std::unique_ptr<KubeApiServer> server(new KubeApiServer());
  server->rootDir_ = makeTempDir("kuma-k8s");
  if (server->rootDir_.empty()) {
    return absl::InternalError("cannot create a temporary directory for kube-apiserver");
  }
  if (absl::Status s = server->startEtcd(options); !s.ok()) {
    return s;
  }
  if (absl::Status s = server->startApiServer(options); !s.ok()) {
    return s;
  }
  return server;
}

absl::Status KubeApiServer::startEtcd(const Options& options) {
  etcdClientPort_ = freePort();
  etcdPeerPort_ = freePort();
  const std::string client = absl::StrCat("http://", host_, ":", etcdClientPort_);
  const std::string peer = absl::StrCat("http://", host_, ":", etcdPeerPort_);
  etcd_ = ChildProcess::start(
      options.etcdBinary,
      {"--name", "kuma-test", "--data-dir", rootDir_ + "/etcd", "--listen-client-urls", client,
       "--advertise-client-urls", client, "--listen-peer-urls", peer,
       "--initial-advertise-peer-urls", peer, "--initial-cluster", "kuma-test=" + peer,
       "--unsafe-no-fsync", "--log-level", "warn"},
      {}, rootDir_ + "/etcd.log");
  httplib::Client http(host_, etcdClientPort_);
  http.set_connection_timeout(std::chrono::seconds(1));
  http.set_read_timeout(std::chrono::seconds(2));
  const bool healthy = eventually(
      [&] {
        if (!etcd_->running()) {
          return true;  // reported below
        }
        auto answer = http.Get("/health");
        return answer && answer->status == 200 &&
               answer->body.find("\"health\":\"true\"") != std::string::npos;
      },
      options.readyTimeout);
  if (!healthy || !etcd_->running()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "etcd did not become healthy on ", client, " within ", options.readyTimeout.count(),
        " s (or exited):\n", tail(etcd_->output(), 4000)));
  }
  return absl::OkStatus();
}

absl::Status KubeApiServer::startApiServer(const Options& options) {
  // Serving certificate for 127.0.0.1 and localhost, signed by a CA of the test's own.
  absl::StatusOr<crypto::CertAndKey> ca = crypto::generateSelfSignedCa(
      "kuma-cpp tests", "kube-apiserver", "kuma-test-ca", absl::Hours(24));
  if (!ca.ok()) {
    return ca.status();
  }
  absl::StatusOr<crypto::CertAndKey> serving = crypto::issueLeafCert(
      *ca, {.hosts = {host_, "localhost"}, .server = true, .validity = absl::Hours(24)});
  if (!serving.ok()) {
    return serving.status();
  }
  absl::StatusOr<std::string> serviceAccountKey = crypto::generateRsaKeyPem(2048);
  if (!serviceAccountKey.ok()) {
    return serviceAccountKey.status();
  }
  caPem_ = ca->certPem;
  caFile_ = rootDir_ + "/ca.crt";
  adminToken_ = randomToken();
  port_ = freePort();
  const std::string saKey = rootDir_ + "/sa.key";
  const std::string tokens = rootDir_ + "/tokens.csv";
  for (const auto& [path, content] : std::vector<std::pair<std::string, std::string>>{
           {caFile_, caPem_},
           {rootDir_ + "/serving.crt", serving->certPem},
           {rootDir_ + "/serving.key", serving->keyPem},
           {saKey, *serviceAccountKey},
           // token,user,uid,"group1,group2"
           {tokens, absl::StrCat(adminToken_, ",", kAdminUser, ",", kAdminUser,
                                 ",\"system:masters\"\n")}}) {
    if (absl::Status s = writeFile(path, content); !s.ok()) {
      return s;
    }
  }
  kubeconfigFile_ = rootDir_ + "/kubeconfig";
  if (absl::Status s = writeFile(
          kubeconfigFile_,
          absl::StrCat("apiVersion: v1\nkind: Config\nclusters:\n- name: kuma-test\n  cluster:\n"
                       "    server: ",
                       url(), "\n    certificate-authority: ", caFile_,
                       "\nusers:\n- name: admin\n  user:\n    token: ", adminToken_,
                       "\ncontexts:\n- name: kuma-test\n  context:\n    cluster: kuma-test\n"
                       "    user: admin\ncurrent-context: kuma-test\n"));
      !s.ok()) {
    return s;
  }
  std::vector<std::string> args = {
      "--etcd-servers",
      absl::StrCat("http://", host_, ":", etcdClientPort_),
      "--bind-address",
      host_,
      "--secure-port",
      std::to_string(port_),
      "--tls-cert-file",
      rootDir_ + "/serving.crt",
      "--tls-private-key-file",
      rootDir_ + "/serving.key",
      "--client-ca-file",
      caFile_,
      "--cert-dir",
      rootDir_ + "/certs",
      "--service-account-issuer",
      "https://kubernetes.default.svc",
      "--service-account-key-file",
      saKey,
      "--service-account-signing-key-file",
      saKey,
      "--token-auth-file",
      tokens,
      "--authorization-mode",
      "RBAC",
      "--service-cluster-ip-range",
      "10.96.0.0/16",
      "--profiling=false",
  };
  args.insert(args.end(), options.extraApiServerArgs.begin(), options.extraApiServerArgs.end());
  apiServer_ =
      ChildProcess::start(options.apiServerBinary, args, {}, rootDir_ + "/kube-apiserver.log");
  const bool ready = eventually(
      [&] {
        if (!apiServer_->running()) {
          return true;  // reported below
        }
        auto answer = request("GET", "/readyz");
        return answer.ok() && answer->status == 200;
      },
      options.readyTimeout);
  if (!ready || !apiServer_->running()) {
    return absl::DeadlineExceededError(absl::StrCat("kube-apiserver did not become ready on ",
                                                    url(), " within ", options.readyTimeout.count(),
                                                    " s (or exited):\n", logs()));
  }
  return absl::OkStatus();
}

KubeApiServer::~KubeApiServer() {
  // Only the processes this fixture started, by their own PIDs.
  if (apiServer_ && apiServer_->stop(SIGTERM, kStopTimeout) == -1) {
    apiServer_->stop(SIGKILL, kStopTimeout);
  }
  if (etcd_ && etcd_->stop(SIGTERM, kStopTimeout) == -1) {
    etcd_->stop(SIGKILL, kStopTimeout);
  }
  apiServer_.reset();
  etcd_.reset();
  if (!rootDir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(rootDir_, ignored);
  }
}

std::string KubeApiServer::url() const {
  return absl::StrCat("https://", host_, ":", port_);
}

absl::StatusOr<KubeApiServer::Response> KubeApiServer::request(
    const std::string& method, const std::string& path, const std::string& body,
    const std::string& contentType) const {
  httplib::SSLClient client(host_, port_);
  client.set_ca_cert_path(caFile_.c_str());
  client.enable_server_certificate_verification(true);
  client.set_bearer_token_auth(adminToken_);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(30));
  client.set_write_timeout(std::chrono::seconds(30));
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers.emplace("Accept", "application/json");
  if (!body.empty()) {
    req.body = body;
    req.headers.emplace("Content-Type", contentType);
  }
  httplib::Result answer = client.send(req);
  if (!answer) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url(), path, " failed: ", httplib::to_string(answer.error())));
  }
  return Response{answer->status, answer->body, answer->get_header_value("Content-Type")};
}

std::string KubeApiServer::logs(size_t maxBytes) const {
  std::string out;
  if (etcd_) {
    absl::StrAppend(&out, "--- etcd ---\n", tail(etcd_->output(), maxBytes), "\n");
  }
  if (apiServer_) {
    absl::StrAppend(&out, "--- kube-apiserver ---\n", tail(apiServer_->output(), maxBytes), "\n");
  }
  return out;
}

}  // namespace kuma::test
