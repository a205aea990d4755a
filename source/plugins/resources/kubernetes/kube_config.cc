#include "source/plugins/resources/kubernetes/kube_config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"

namespace kuma::k8s {
namespace {

using Json = nlohmann::json;

absl::Status bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("kubeconfig: ", common::av(what)));
}

/** The `field` (e.g. "cluster") of the entry named `name` in the list `list`. */
absl::StatusOr<const Json*> namedEntry(const Json& root, const char* list, const char* field,
                                       const std::string& name) {
  auto it = root.find(list);
  if (it == root.end() || !it->is_array()) {
    return bad(absl::StrCat("no `", list, "` list"));
  }
  for (const Json& entry : *it) {
    if (!entry.is_object()) {
      return bad(absl::StrCat("an entry of `", list, "` is not an object"));
    }
    auto n = entry.find("name");
    if (n != entry.end() && n->is_string() && n->get<std::string>() == name) {
      auto f = entry.find(field);
      if (f == entry.end() || !f->is_object()) {
        return bad(absl::StrCat("`", list, "` entry \"", name, "\" has no `", field, "` object"));
      }
      return &*f;
    }
  }
  return bad(absl::StrCat("no `", list, "` entry named \"", name, "\""));
}

std::string stringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string resolve(const std::string& baseDir, const std::string& path) {
  if (path.empty() || path[0] == '/' || baseDir.empty()) {
    return path;
  }
  return absl::StrCat(baseDir, "/", path);
}

/** `<key>-data` (base64) or the file named by `<key>`; empty when neither is set. */
absl::StatusOr<std::string> dataOrFile(const Json& object, const std::string& key,
                                       const std::string& baseDir, const FileReader& readFile) {
  const std::string data = stringField(object, (key + "-data").c_str());
  if (!data.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(data, &decoded)) {
      return bad(absl::StrCat("`", key, "-data` is not base64"));
    }
    return decoded;
  }
  const std::string file = stringField(object, key.c_str());
  if (file.empty()) {
    return std::string();
  }
  return readFile(resolve(baseDir, file));
}

std::string trimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

absl::StatusOr<std::string> readBoundedFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::string out;
  out.resize(kMaxKubeconfigBytes + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > kMaxKubeconfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is larger than ", kMaxKubeconfigBytes, " bytes"));
  }
  return out;
}

absl::StatusOr<KubeConnection> parseServerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return bad(absl::StrCat("server \"", common::av(url), "\" is not an https:// URL"));
  }
  std::string_view rest = url.substr(kScheme.size());
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") {
      return bad("server URLs with a path are not supported");
    }
    rest = rest.substr(0, slash);
  }
  KubeConnection out;
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return bad("unterminated IPv6 address in server");
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return bad("malformed server address");
      }
      port = after.substr(1);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  // A DNS name or IPv4 address, or (in brackets) an IPv6 address: nothing else reaches the socket.
  const bool bracketed = rest.starts_with("[");
  const bool hostOk = !host.empty() && std::all_of(host.begin(), host.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
           (bracketed && c == ':');
  });
  if (!hostOk) {
    return bad("server has no usable host");
  }
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return bad(absl::StrCat("server port \"", common::av(port), "\" is not a port number"));
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

absl::StatusOr<KubeConnection> parseKubeconfig(std::string_view text, const std::string& baseDir,
                                               const FileReader& readFile,
                                               const std::string& context) {
  if (text.size() > kMaxKubeconfigBytes) {
    return bad("larger than 1 MiB");
  }
  absl::StatusOr<Json> parsed = common::parseYaml(text);
  if (!parsed.ok()) {
    return bad(common::sv(parsed.status().message()));
  }
  const Json& root = *parsed;
  if (!root.is_object()) {
    return bad("not a YAML object");
  }
  std::string contextName = context.empty() ? stringField(root, "current-context") : context;
  if (contextName.empty()) {
    return bad("no current-context");
  }
  absl::StatusOr<const Json*> ctx = namedEntry(root, "contexts", "context", contextName);
  if (!ctx.ok()) {
    return ctx.status();
  }
  const std::string clusterName = stringField(**ctx, "cluster");
  const std::string userName = stringField(**ctx, "user");
  absl::StatusOr<const Json*> cluster = namedEntry(root, "clusters", "cluster", clusterName);
  if (!cluster.ok()) {
    return cluster.status();
  }
  absl::StatusOr<KubeConnection> out = parseServerUrl(stringField(**cluster, "server"));
  if (!out.ok()) {
    return out.status();
  }
  if (auto skip = (*cluster)->find("insecure-skip-tls-verify");
      skip != (*cluster)->end() && skip->is_boolean()) {
    out->insecureSkipVerify = skip->get<bool>();
  }
  absl::StatusOr<std::string> ca =
      dataOrFile(**cluster, "certificate-authority", baseDir, readFile);
  if (!ca.ok()) {
    return ca.status();
  }
  out->caPem = std::move(*ca);
  if (userName.empty()) {
    return out;
  }
  absl::StatusOr<const Json*> user = namedEntry(root, "users", "user", userName);
  if (!user.ok()) {
    return user.status();
  }
  if ((*user)->contains("exec") || (*user)->contains("auth-provider")) {
    return bad(
        "exec and auth-provider credentials are not supported; use a token or a "
        "client certificate");
  }
  out->bearerToken = stringField(**user, "token");
  if (out->bearerToken.empty()) {
    const std::string tokenFile = stringField(**user, "tokenFile");
    if (!tokenFile.empty()) {
      absl::StatusOr<std::string> token = readFile(resolve(baseDir, tokenFile));
      if (!token.ok()) {
        return token.status();
      }
      out->bearerToken = trimNewlines(std::move(*token));
    }
  }
  absl::StatusOr<std::string> cert = dataOrFile(**user, "client-certificate", baseDir, readFile);
  if (!cert.ok()) {
    return cert.status();
  }
  absl::StatusOr<std::string> key = dataOrFile(**user, "client-key", baseDir, readFile);
  if (!key.ok()) {
    return key.status();
  }
  if (cert->empty() != key->empty()) {
    return bad("a client certificate needs both the certificate and the key");
  }
  out->clientCertPem = std::move(*cert);
  out->clientKeyPem = std::move(*key);
  return out;
}

absl::StatusOr<KubeConnection> loadKubeconfig(const std::string& path) {
  absl::StatusOr<std::string> text = readBoundedFile(path);
  if (!text.ok()) {
    return text.status();
  }
  const size_t slash = path.rfind('/');
  const std::string baseDir = slash == std::string::npos ? "." : path.substr(0, slash);
  return parseKubeconfig(*text, baseDir, readBoundedFile);
}

absl::StatusOr<KubeConnection> inClusterConnection(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return absl::FailedPreconditionError(
        "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set, and no kubeconfig given");
  }
  const std::string h = host;
  absl::StatusOr<KubeConnection> out = parseServerUrl(
      absl::StrCat("https://", h.find(':') != std::string::npos ? "[" + h + "]" : h, ":", port));
  if (!out.ok()) {
    return out.status();
  }
  absl::StatusOr<std::string> token = readBoundedFile(root + "/token");
  if (!token.ok()) {
    return token.status();
  }
  out->bearerToken = trimNewlines(std::move(*token));
  absl::StatusOr<std::string> ca = readBoundedFile(root + "/ca.crt");
  if (!ca.ok()) {
    return ca.status();
  }
  out->caPem = std::move(*ca);
  return out;
}

absl::StatusOr<KubeConnection> discoverConnection(const std::string& kubeconfig) {
  if (!kubeconfig.empty()) {
    return loadKubeconfig(kubeconfig);
  }
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first = env;
    // client-go merges a list; we take the first file.
    if (size_t colon = first.find(':'); colon != std::string::npos) {
      first = first.substr(0, colon);
    }
    return loadKubeconfig(first);
  }
  return inClusterConnection();
}

}  // namespace kuma::k8s
