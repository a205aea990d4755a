#include "source/dp/metrics_hijacker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <regex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"

namespace kuma::dp {
namespace {

using nlohmann::json;
using Selector = std::function<bool(std::string_view)>;

constexpr size_t kMaxSelectors = 1024;
constexpr size_t kMaxLabels = 256;
constexpr size_t kMaxRegexBytes = 1024;
constexpr size_t kMaxRequestHead = 16 << 10;

Selector selectorOf(const MetricSelector& s) {
  const std::string match = s.match;
  if (s.type == "Contains") {
    return [match](std::string_view v) { return v.find(match) != std::string_view::npos; };
  }
  if (s.type == "Prefix") {
    return [match](std::string_view v) { return v.starts_with(match); };
  }
  if (s.type == "Exact") {
    return [match](std::string_view v) { return v == match; };
  }
  if (s.type == "Regex" && match.size() <= kMaxRegexBytes) {
    try {
      auto re = std::make_shared<std::regex>(match);
      return [re](std::string_view v) { return std::regex_search(v.begin(), v.end(), *re); };
    } catch (const std::regex_error&) {
    }
  }
  return [](std::string_view) { return false; };
}

std::vector<Selector> basicProfile() {
  std::vector<Selector> out;
  for (const char* c : {"rq_time",
                        "cx_length_ms",
                        "cx_count",
                        "_rq",
                        "bytes",
                        "timeout",
                        "health_check",
                        "lb_healthy_panic",
                        "cx_destroy",
                        "error",
                        "fail",
                        "reset",
                        "eject",
                        "overflow",
                        "cancelled",
                        "max_duration_reached",
                        "no_cluster",
                        "no_route",
                        "no_filter_chain",
                        "reject",
                        "denied",
                        "days_until_first_cert_expiring",
                        "rbac",
                        "cx_active",
                        "cx_connect",
                        "circuit_breakers",
                        "cx_total",
                        "ssl_handshake",
                        "ssl_context_update_by_sds"}) {
    out.push_back(selectorOf({"Contains", c}));
  }
  for (const char* e : {"envoy_cluster_membership_degraded", "envoy_cluster_membership_healthy",
                        "envoy_cluster_ssl_handshake", "envoy_cluster_membership_total"}) {
    out.push_back(selectorOf({"Exact", e}));
  }
  for (const char* p : {"envoy_server", "envoy_control_plane", "envoy_dns_filter",
                        "envoy_dns_cares", "kuma_dp_dns"}) {
    out.push_back(selectorOf({"Prefix", p}));
  }
  return out;
}

// Values of the entity labels that mark Kuma's own resources under the Basic profile.
bool internalEntity(std::string_view value) {
  return value.starts_with("system_") || value.starts_with("_") || value == "ads_cluster" ||
         value == "access_log_sink" || value == "kuma:envoy:admin" ||
         value == "kuma:metrics:hijacker" || value.starts_with("_kuma:metrics:opentelemetry") ||
         value.starts_with("tracing");
}

bool anyOf(const std::vector<Selector>& selectors, std::string_view name) {
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const Selector& s) { return s(name); });
}

// The lines of a text, without their '\n'.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  std::optional<std::string_view> next() {
    if (pos_ >= text_.size()) {
      return std::nullopt;
    }
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) {
      end = text_.size();
    }
    const std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// A sample line split into metric name, labels (name, raw escaped value) and the rest.
struct Sample {
  std::string_view name;
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  std::string_view rest;  // " value [timestamp]"
};

bool parseSample(std::string_view line, Sample& out) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') {
    ++i;
  }
  out.name = line.substr(0, i);
  out.labels.clear();
  if (out.name.empty()) {
    return false;
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) {
        ++i;
      }
      if (i >= line.size()) {
        return false;
      }
      if (line[i] == '}') {
        ++i;
        break;
      }
      const size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        return false;
      }
      size_t j = eq + 2;
      while (j < line.size() && line[j] != '"') {
        j += line[j] == '\\' ? 2 : 1;
      }
      if (j >= line.size()) {
        return false;
      }
      out.labels.emplace_back(line.substr(i, eq - i), line.substr(eq + 2, j - eq - 2));
      i = j + 1;
    }
  }
  out.rest = line.substr(i);
  return true;
}

std::string labelName(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    c = ok ? c : '_';
  }
  return out;
}

std::string labelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string stringOf(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::Status selectorsOf(const json& profiles, const char* key, std::vector<MetricSelector>& out) {
  auto it = profiles.find(key);
  if (it == profiles.end() || it->is_null()) {
    return absl::OkStatus();
  }
  if (!it->is_array() || it->size() > kMaxSelectors) {
    return absl::InvalidArgumentError(absl::StrCat("meshmetric config: bad ", key));
  }
  for (const json& s : *it) {
    if (!s.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("meshmetric config: bad ", key));
    }
    out.push_back({stringOf(s, "type"), stringOf(s, "match")});
  }
  return absl::OkStatus();
}

// Kuma's processMetrics: each scrape without trailing newlines and `# EOF`, joined, blank lines
// collapsed.
std::string joinScrapes(const std::vector<std::string>& scrapes) {
  std::string joined;
  for (std::string_view s : scrapes) {
    while (!s.empty() && s.back() == '\n') {
      s.remove_suffix(1);
    }
    if (s.ends_with("# EOF")) {
      s.remove_suffix(5);
    }
    while (!s.empty() && s.back() == '\n') {
      s.remove_suffix(1);
    }
    joined.append(s).append("\n");
  }
  std::string out;
  for (char c : joined) {
    if (c == '\n' && !out.empty() && out.back() == '\n') {
      continue;
    }
    out += c;
  }
  while (!out.empty() && (out.front() == '\n' || out.front() == ' ')) {
    out.erase(out.begin());
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out + "\n";
}

}  // namespace

absl::StatusOr<MeshMetricConfig> parseMeshMetricConfig(std::string_view body) {
  if (body.size() > MetricsHijacker::kMaxConfigBytes) {
    return absl::InvalidArgumentError("meshmetric config too large");
  }
  auto doc = common::parseJson(body);
  if (!doc.ok()) {
    return doc.status();
  }
  const json* metrics = nullptr;
  if (doc->is_object()) {
    auto o = doc->find("observability");
    if (o != doc->end() && o->is_object()) {
      auto m = o->find("metrics");
      metrics = m != o->end() && m->is_object() ? &*m : nullptr;
    }
  }
  if (metrics == nullptr) {
    return absl::InvalidArgumentError("meshmetric config: no observability.metrics object");
  }
  MeshMetricConfig out;
  if (auto apps = metrics->find("applications"); apps != metrics->end() && !apps->is_null()) {
    if (!apps->is_array() || apps->size() > MetricsHijacker::kMaxApplications) {
      return absl::InvalidArgumentError("meshmetric config: bad applications");
    }
    for (const json& a : *apps) {
      auto port = a.is_object() ? a.find("port") : a.end();
      if (!a.is_object() || port == a.end() || !port->is_number_unsigned() ||
          port->get<uint64_t>() == 0 || port->get<uint64_t>() > 65535) {
        return absl::InvalidArgumentError("meshmetric config: bad application");
      }
      out.applications.push_back({stringOf(a, "name"), stringOf(a, "address"), stringOf(a, "path"),
                                  port->get<uint32_t>()});
    }
  }
  if (auto backends = metrics->find("backends");
      backends != metrics->end() && backends->is_array()) {
    for (const json& b : *backends) {
      out.prometheus = out.prometheus || (b.is_object() && stringOf(b, "type") == "Prometheus");
    }
  }
  if (auto sidecar = metrics->find("sidecar"); sidecar != metrics->end() && sidecar->is_object()) {
    if (auto unused = sidecar->find("includeUnused");
        unused != sidecar->end() && unused->is_boolean()) {
      out.includeUnused = unused->get<bool>();
    }
    if (auto profiles = sidecar->find("profiles");
        profiles != sidecar->end() && profiles->is_object()) {
      if (auto append = profiles->find("appendProfiles");
          append != profiles->end() && append->is_array()) {
        if (append->size() > kMaxSelectors) {
          return absl::InvalidArgumentError("meshmetric config: bad appendProfiles");
        }
        for (const json& p : *append) {
          out.profiles.push_back(p.is_object() ? stringOf(p, "name") : std::string());
        }
      }
      for (auto [key, list] : {std::pair{"exclude", &out.exclude}, {"include", &out.include}}) {
        if (absl::Status s = selectorsOf(*profiles, key, *list); !s.ok()) {
          return s;
        }
      }
    }
  }
  if (auto labels = metrics->find("extraLabels"); labels != metrics->end() && labels->is_object()) {
    if (labels->size() > kMaxLabels) {
      return absl::InvalidArgumentError("meshmetric config: too many extraLabels");
    }
    for (const auto& [k, v] : labels->items()) {
      if (v.is_string()) {
        out.extraLabels[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

std::string filterEnvoyMetrics(std::string_view text, const MeshMetricConfig& config) {
  // Kuma's ProfileMutatorGenerator: the profiles sorted All < Basic < None, the first decides
  // whether entity labels are checked.
  std::vector<Selector> selectors;
  bool basic = true;
  if (!config.profiles.empty()) {
    std::vector<std::string> names = config.profiles;
    auto rank = [](const std::string& n) { return n == "All" ? 0 : n == "Basic" ? 1 : 2; };
    std::stable_sort(names.begin(), names.end(),
                     [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
    for (const std::string& n : names) {
      if (n == "All") {
        selectors.push_back([](std::string_view) { return true; });
      } else if (n == "Basic") {
        for (Selector& s : basicProfile()) {
          selectors.push_back(std::move(s));
        }
      }
    }
    basic = names.front() == "Basic";
  } else {
    selectors = basicProfile();
  }
  std::vector<Selector> exclude;
  std::vector<Selector> include;
  for (const MetricSelector& s : config.exclude) {
    exclude.push_back(selectorOf(s));
  }
  for (const MetricSelector& s : config.include) {
    include.push_back(selectorOf(s));
  }

  // Families: a `# HELP`/`# TYPE` header starts one; its lines are kept or dropped together.
  std::string out;
  std::string family;     // current family's name
  std::string header;     // its comment lines
  std::string body;       // its kept sample lines
  bool selected = false;  // the family is selected by name
  auto flush = [&] {
    if (selected && (!body.empty() || !basic)) {
      absl::StrAppend(&out, header, body);
    }
    header.clear();
    body.clear();
  };
  auto decide = [&](const std::string& name) {
    bool in = anyOf(selectors, name);
    if (anyOf(exclude, name)) {
      in = false;
    }
    if (anyOf(include, name)) {
      in = true;
    }
    return in;
  };
  Sample sample;
  for (LineReader lines(text); std::optional<std::string_view> next = lines.next();) {
    const std::string_view line = *next;
    if (line.empty()) {
      continue;
    }
    if (line.front() == '#') {
      // "# TYPE name type" / "# HELP name text"
      std::string_view rest = line.substr(1);
      while (!rest.empty() && rest.front() == ' ') {
        rest.remove_prefix(1);
      }
      if (rest.starts_with("TYPE ") || rest.starts_with("HELP ")) {
        std::string_view name = rest.substr(5);
        name = name.substr(0, name.find(' '));
        if (name != family) {
          flush();
          family = std::string(name);
          selected = decide(family);
        }
        header.append(line).append("\n");
      }
      continue;
    }
    if (!parseSample(line, sample)) {
      continue;
    }
    if (family.empty() || !sample.name.starts_with(family)) {
      flush();
      family = std::string(sample.name);
      selected = decide(family);
    }
    if (!selected) {
      continue;
    }
    if (basic) {
      bool internal = false;
      for (const auto& [name, value] : sample.labels) {
        internal = internal ||
                   ((name == "envoy_cluster_name" || name == "envoy_http_conn_manager_prefix" ||
                     name == "envoy_listener_address") &&
                    internalEntity(value));
      }
      if (internal) {
        continue;
      }
    }
    body.append(line).append("\n");
  }
  flush();
  return out;
}

std::string addLabels(std::string_view text, const std::map<std::string, std::string>& labels) {
  std::map<std::string, std::string> extra;
  for (const auto& [k, v] : labels) {
    extra[labelName(k)] = labelValue(v);
  }
  std::string out;
  Sample sample;
  for (LineReader lines(text); std::optional<std::string_view> next = lines.next();) {
    const std::string_view line = *next;
    if (line.empty() || line.front() == '#' || !parseSample(line, sample)) {
      out.append(line).append("\n");
      continue;
    }
    std::string l;
    for (const auto& [name, value] : sample.labels) {
      l.append(l.empty() ? "" : ",").append(name).append("=\"").append(value).append("\"");
    }
    for (const auto& [name, value] : extra) {
      const bool has = std::any_of(sample.labels.begin(), sample.labels.end(),
                                   [&](const auto& p) { return p.first == name; });
      if (!has) {
        l.append(l.empty() ? "" : ",").append(name).append("=\"").append(value).append("\"");
      }
    }
    out.append(sample.name);
    if (!l.empty()) {
      out.append("{").append(l).append("}");
    }
    out.append(sample.rest).append("\n");
  }
  return out;
}

namespace {

// Kuma's isMergeableClusterName: `<prefix>-<16 hex digits>`.
std::string_view mergeableClusterPrefix(std::string_view cluster) {
  constexpr size_t kHex = 16;
  if (cluster.size() < kHex + 1 || cluster[cluster.size() - kHex - 1] != '-') {
    return cluster;
  }
  for (char c : cluster.substr(cluster.size() - kHex)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return cluster;
    }
  }
  return cluster.substr(0, cluster.size() - kHex - 1);
}

bool isMeshCluster(std::string_view cluster) {
  static constexpr std::string_view kNotMesh[] = {"ads_cluster",      "access_log_sink",
                                                  "system_ads",       "system_access_log_sink",
                                                  "kuma_envoy_admin", "kuma_metrics_hijacker"};
  return std::find(std::begin(kNotMesh), std::end(kNotMesh), cluster) == std::end(kNotMesh);
}

bool isMeshHttpPrefix(std::string_view prefix) {
  return prefix != "admin" && prefix != "kuma_envoy_admin" && prefix != "kuma_metrics_prometheus";
}

}  // namespace

std::string mergeClustersForPrometheus(std::string_view text) {
  // Output lines in order; a merged sample keeps the position of its first occurrence.
  struct Line {
    std::string text;  // comment or unparsed line, or the sample's name and labels
    bool sample = false;
    std::string rest;  // " value" as Envoy wrote it (one occurrence)
    double sum = 0;
    int count = 0;
  };
  std::vector<Line> lines;
  std::map<std::string, size_t> index;  // sample key -> position
  Sample sample;
  for (LineReader reader(text); std::optional<std::string_view> next = reader.next();) {
    const std::string_view line = *next;
    if (line.empty() || line.front() == '#' || !parseSample(line, sample)) {
      lines.push_back({std::string(line), false, "", 0, 0});
      continue;
    }
    std::string cluster;
    bool hasCluster = false;
    bool meshHttp = false;
    std::string labels;
    for (const auto& [name, value] : sample.labels) {
      std::string_view v = value;
      if (name == "envoy_cluster_name") {
        v = mergeableClusterPrefix(value);
        hasCluster = true;
        cluster = std::string(v);
      } else if (name == "envoy_http_conn_manager_prefix") {
        meshHttp = isMeshHttpPrefix(value);
      }
      labels.append(labels.empty() ? "" : ",").append(name).append("=\"").append(v).append("\"");
    }
    if ((hasCluster && isMeshCluster(cluster)) || (!hasCluster && meshHttp)) {
      labels.append(labels.empty() ? "" : ",").append("kuma_io_mesh_traffic=\"true\"");
    }
    std::string key(sample.name);
    if (!labels.empty()) {
      key.append("{").append(labels).append("}");
    }
    double value = 0;
    std::string_view rest = sample.rest;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
      rest.remove_prefix(1);
    }
    const bool numeric = absl::SimpleAtod(common::av(rest.substr(0, rest.find(' '))), &value);
    auto [it, added] = index.try_emplace(key, lines.size());
    if (added || !numeric) {
      if (!added) {
        it->second = lines.size();
      }
      lines.push_back({std::move(key), true, std::string(sample.rest), value, 1});
      continue;
    }
    Line& first = lines[it->second];
    first.sum += value;
    ++first.count;
  }
  std::string out;
  for (const Line& l : lines) {
    out.append(l.text);
    if (l.sample) {
      out.append(l.count == 1 ? l.rest : fmt::format(" {}", l.sum));
    }
    out.append("\n");
  }
  return out;
}

MetricsHijacker::MetricsHijacker(Options options, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), log_(std::move(log)) {}

MetricsHijacker::~MetricsHijacker() {
  stop();
}

absl::Status MetricsHijacker::start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.socketPath.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics hijacker socket path too long: ", options_.socketPath));
  }
  std::memcpy(addr.sun_path, options_.socketPath.c_str(), options_.socketPath.size() + 1);
  if (unlink(options_.socketPath.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", options_.socketPath, ": ", std::strerror(errno)));
  }
  listen_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_ < 0 || bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_, 16) != 0 || pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string error = std::strerror(errno);
    stop();
    return absl::InternalError(
        absl::StrCat("metrics hijacker cannot listen on ", options_.socketPath, ": ", error));
  }
  log_->info("metrics hijacker listening on {}", options_.socketPath);
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void MetricsHijacker::stop() {
  if (thread_.joinable()) {
    const char c = 'x';
    [[maybe_unused]] ssize_t n = write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int* fd : {&listen_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) {
      close(*fd);
      if (fd == &listen_) {
        unlink(options_.socketPath.c_str());
      }
      *fd = -1;
    }
  }
}

void MetricsHijacker::run() {
  while (true) {
    pollfd fds[2] = {{listen_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      log_->error("metrics hijacker: poll: {}", std::strerror(errno));
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      const int c = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        serve(c);
        close(c);
      }
    }
  }
}

void MetricsHijacker::serve(int fd) const {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) {
      return;
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  int status = 405;
  std::string body = "only GET\n";
  if (head.starts_with("GET ")) {
    const size_t end = head.find_first_of(" \r\n", 4);
    std::tie(status, body) = scrape(std::string_view(head).substr(4, end - 4));
  }
  const std::string answer = absl::StrCat(
      "HTTP/1.1 ", status, status == 200 ? " OK" : " Error",
      "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n\r\n", body);
  size_t sent = 0;
  while (sent < answer.size()) {
    const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    sent += static_cast<size_t>(n);
  }
}

std::pair<int, std::string> MetricsHijacker::scrape(std::string_view target) const {
  if (!target.starts_with("/meshmetric")) {
    return legacyScrape(target);
  }
  EnvoyAdminAddress dynamicConfig;
  dynamicConfig.unixPath = options_.dynamicConfigSocket;
  auto doc = adminRequest(dynamicConfig, "GET", "/meshmetric", options_.timeout);
  if (!doc.ok() || doc->status != 200) {
    return {503, absl::StrCat("no MeshMetric configuration from Envoy: ",
                              doc.ok() ? absl::StrCat("status ", doc->status)
                                       : std::string(doc.status().message()),
                              "\n")};
  }
  auto config = parseMeshMetricConfig(doc->body);
  if (!config.ok()) {
    log_->warn("metrics hijacker: {}", common::sv(config.status().message()));
    return {503, absl::StrCat(config.status().message(), "\n")};
  }
  std::vector<std::string> scrapes;
  for (const MetricsApplication& app : config->applications) {
    if (std::optional<std::string> body = scrapeApplication(app)) {
      scrapes.push_back(addLabels(*body, config->extraLabels));
    }
  }
  auto envoy = adminRequest(options_.admin, "GET",
                            absl::StrCat("/stats?format=prometheus&text_readouts",
                                         config->includeUnused ? "" : "&usedonly"),
                            options_.timeout);
  if (envoy.ok() && envoy->status == 200) {
    scrapes.push_back(addLabels(filterEnvoyMetrics(envoy->body, *config), config->extraLabels));
  } else {
    log_->info("metrics hijacker: Envoy's stats did not answer 200");
  }
  return answerOf(scrapes);
}

std::optional<std::string> MetricsHijacker::scrapeApplication(const MetricsApplication& app) const {
  EnvoyAdminAddress address;
  address.host = app.address.empty() ? options_.defaultAddress : app.address;
  address.port = static_cast<uint16_t>(app.port);
  auto answer = adminRequest(address, "GET", app.path.empty() ? "/" : app.path, options_.timeout);
  if (!answer.ok() || answer->status != 200) {
    log_->info("metrics hijacker: application {} ({}:{}{}) did not answer 200", app.name,
               address.host, app.port, app.path);
    return std::nullopt;
  }
  return std::move(answer->body);
}

std::pair<int, std::string> MetricsHijacker::answerOf(const std::vector<std::string>& scrapes) {
  std::string out = joinScrapes(scrapes);
  if (out.size() > kMaxScrapeBytes) {
    return {500, "metrics too large\n"};
  }
  return {200, std::move(out)};
}

std::pair<int, std::string> MetricsHijacker::legacyScrape(std::string_view target) const {
  std::vector<std::string> scrapes;
  for (const MetricsApplication& app : options_.aggregate) {
    if (std::optional<std::string> body = scrapeApplication(app)) {
      scrapes.push_back(*std::move(body));
    }
  }
  // The listener's query (Envoy's `filter` and `usedonly`) plus the Prometheus format, as Kuma's
  // AddPrometheusFormat; anything else of the target is dropped.
  std::string query;
  if (const size_t q = target.find('?'); q != std::string_view::npos) {
    for (absl::string_view part :
         absl::StrSplit(common::av(target.substr(q + 1)), '&', absl::SkipEmpty())) {
      const std::string_view p = common::sv(part);
      if (p == "usedonly" || p.starts_with("usedonly=") || p.starts_with("filter=")) {
        query.append("&").append(p);
      }
    }
  }
  auto envoy =
      adminRequest(options_.admin, "GET",
                   absl::StrCat("/stats?format=prometheus&text_readouts", query), options_.timeout);
  if (envoy.ok() && envoy->status == 200) {
    scrapes.push_back(mergeClustersForPrometheus(envoy->body));
  } else {
    log_->info("metrics hijacker: Envoy's stats did not answer 200");
  }
  return answerOf(scrapes);
}

}  // namespace kuma::dp
