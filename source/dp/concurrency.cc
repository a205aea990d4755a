#include "source/dp/concurrency.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kuma::dp {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> readFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimmed(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

absl::Status malformed(const fs::path& path, const std::string& content) {
  return absl::InvalidArgumentError(absl::StrCat("cannot parse the CPU limit in ", path.string(),
                                                 ": \"", trimmed(content), "\""));
}

// The CPU limit in CPUs (quota/period), nullopt when unlimited or not present.
absl::StatusOr<std::optional<double>> cpuLimit(const fs::path& root) {
  // cgroup v2: "<quota|max> <period>"
  if (auto v2 = readFile(root / "cpu.max"); v2.has_value()) {
    std::vector<std::string> parts = absl::StrSplit(trimmed(*v2), ' ', absl::SkipEmpty());
    if (parts.empty() || parts.size() > 2) {
      return malformed(root / "cpu.max", *v2);
    }
    if (parts[0] == "max") {
      return std::optional<double>();
    }
    int64_t quota = 0;
    int64_t period = 100000;  // the kernel's default when only the quota is written
    if (!absl::SimpleAtoi(parts[0], &quota) || quota <= 0 ||
        (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &period) || period <= 0))) {
      return malformed(root / "cpu.max", *v2);
    }
    return std::optional<double>(static_cast<double>(quota) / static_cast<double>(period));
  }
  // cgroup v1: quota -1 means unlimited.
  const fs::path quotaPath = root / "cpu" / "cpu.cfs_quota_us";
  auto quotaText = readFile(quotaPath);
  if (!quotaText.has_value()) {
    return std::optional<double>();
  }
  int64_t quota = 0;
  if (!absl::SimpleAtoi(trimmed(*quotaText), &quota) || quota == 0 || quota < -1) {
    return malformed(quotaPath, *quotaText);
  }
  if (quota == -1) {
    return std::optional<double>();
  }
  const fs::path periodPath = root / "cpu" / "cpu.cfs_period_us";
  auto periodText = readFile(periodPath);
  if (!periodText.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(quotaPath.string(), " sets a CPU quota but ",
                                                   periodPath.string(), " cannot be read"));
  }
  int64_t period = 0;
  if (!absl::SimpleAtoi(trimmed(*periodText), &period) || period <= 0) {
    return malformed(periodPath, *periodText);
  }
  return std::optional<double>(static_cast<double>(quota) / static_cast<double>(period));
}

}  // namespace

std::vector<std::string> ConcurrencyDecision::envoyArgs() const {
  if (source == Source::CpusetThreads) {
    return {"--cpuset-threads"};
  }
  return {"--concurrency", std::to_string(workers)};
}

absl::StatusOr<ConcurrencyDecision> decideConcurrency(const ConcurrencyInputs& inputs) {
  ConcurrencyDecision d;
  if (inputs.explicitConcurrency > 0) {
    d.source = ConcurrencyDecision::Source::Explicit;
    d.workers = inputs.explicitConcurrency;
    d.reason = absl::StrCat("--concurrency ", d.workers, " given explicitly");
    return d;
  }
  auto limit = cpuLimit(inputs.cgroupRoot);
  if (!limit.ok()) {
    return limit.status();
  }
  if (!limit->has_value()) {
    d.source = ConcurrencyDecision::Source::CpusetThreads;
    d.reason = "no CPU limit: Envoy sizes its workers from the cpuset";
    return d;
  }
  const double cpus = **limit;
  // Round up: a 1.5 CPU quota can keep two workers busy half the time each, and a worker too
  // many only costs a little memory while one too few leaves paid-for CPU unused.
  double workers = std::ceil(cpus - 1e-9);
  if (workers < 1) {
    workers = 1;
  }
  if (inputs.onKubernetes) {
    workers = std::clamp(workers, static_cast<double>(kKubernetesMinConcurrency),
                         static_cast<double>(kKubernetesMaxConcurrency));
  }
  d.source = ConcurrencyDecision::Source::CpuLimit;
  d.workers = static_cast<uint32_t>(std::min(workers, 4096.0));
  d.reason = absl::StrCat("CPU limit ", static_cast<int64_t>(std::llround(cpus * 1000)), "m → ",
                          d.workers, " workers", inputs.onKubernetes ? " (Kubernetes: 2..10)" : "");
  return d;
}

std::string processCgroupRoot() {
  const fs::path base = "/sys/fs/cgroup";
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("0::")) {
      const fs::path own = base / fs::path(line.substr(3)).relative_path();
      std::error_code ec;
      if (fs::exists(own / "cpu.max", ec)) {
        return own.string();
      }
    }
  }
  return base.string();
}

}  // namespace kuma::dp
