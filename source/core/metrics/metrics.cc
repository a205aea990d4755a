#include "source/core/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "prometheus/text_serializer.h"

namespace kuma::metrics {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

/**
 * Families of controller-runtime and client-go: on Kubernetes Kuma registers them in the same
 * registry but not through its zone-labelling wrapper, so they carry no `zone`.
 */
bool controllerRuntimeFamily(const std::string& name) {
  for (const char* prefix :
       {"workqueue_", "controller_runtime_", "leader_election_", "rest_client_"}) {
    if (name.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

void addZone(std::vector<MetricFamily>& families, const std::string& zone) {
  for (MetricFamily& family : families) {
    if (controllerRuntimeFamily(family.name)) {
      continue;
    }
    for (prometheus::ClientMetric& metric : family.metric) {
      bool present = false;
      for (const auto& label : metric.label) {
        present = present || label.name == "zone";
      }
      if (!present) {
        metric.label.push_back({"zone", zone});
      }
    }
  }
}

/** Fields of /proc/self/stat after the command name, 1-based as in proc(5) (state is 3). */
std::vector<std::string> procSelfStat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return {};
  }
  const auto close = line.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  // Indices 0-2 are placeholders (index 0 unused, pid, comm) so that fields[n] is field n.
  std::vector<std::string> fields = {"", "", ""};
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  while (rest >> field) {
    fields.push_back(field);
  }
  return fields;
}

double bootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    std::string skip;
    std::getline(in, skip);
  }
  return 0;
}

int openFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return -1;
  }
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++count;
    }
  }
  closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& Metrics::defaultBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

const prometheus::Histogram::BucketBoundaries& Metrics::responseBytesBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = [] {
    prometheus::Histogram::BucketBoundaries buckets;
    for (int k = 0; k <= 15; ++k) {
      buckets.push_back(1024.0 * static_cast<double>(1u << k));
    }
    return buckets;
  }();
  return kBuckets;
}

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)), registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels zone = {{"zone", options_.zone}};
  xdsGeneration_ = &prometheus::BuildHistogram()
                        .Name("xds_generation")
                        .Help("Summary of XDS Snapshot generation")
                        .Labels(zone)
                        .Register(*registry_);
  xdsGenerationErrors_ = &prometheus::BuildCounter()
                              .Name("xds_generation_errors")
                              .Help("Counter of errors during XDS generation")
                              .Labels(zone)
                              .Register(*registry_)
                              .Add({});
  xdsDelivery_ = &prometheus::BuildHistogram()
                      .Name("xds_delivery")
                      .Help("Summary of XDS Snapshot delivery")
                      .Labels(zone)
                      .Register(*registry_)
                      .Add({}, defaultBuckets());
  xdsResponsesSent_ = &prometheus::BuildCounter()
                           .Name("xds_responses_sent")
                           .Help("Number of xDS responses sent")
                           .Labels(zone)
                           .Register(*registry_);
  xdsResponsesSentBytes_ = &prometheus::BuildHistogram()
                                .Name("xds_responses_sent_bytes")
                                .Help("Size of xDS responses sent")
                                .Labels(zone)
                                .Register(*registry_);
  xdsRequestsReceived_ = &prometheus::BuildCounter()
                              .Name("xds_requests_received")
                              .Help("Number of confirmations requests from a client")
                              .Labels(zone)
                              .Register(*registry_);
  store_ = &prometheus::BuildHistogram()
                .Name("store")
                .Help("Summary of Store operations")
                .Labels(zone)
                .Register(*registry_);
  storeConflicts_ = &prometheus::BuildCounter()
                         .Name("store_conflicts")
                         .Help("Counter of Store conflicts")
                         .Labels(zone)
                         .Register(*registry_);
  storeCache_ = &prometheus::BuildCounter()
                     .Name("store_cache")
                     .Help("Summary of Store Cache")
                     .Labels(zone)
                     .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::setCpInfo(const CpInfo& info) {
  absl::MutexLock lock(&mu_);
  if (cpInfoSet_) {
    return;
  }
  cpInfoSet_ = true;
  prometheus::BuildGauge()
      .Name("cp_info")
      .Help("Static information about the CP instance")
      .Labels({{"zone", options_.zone},
               {"product", info.product},
               {"version", info.version},
               {"build_date", info.buildDate},
               {"git_commit", info.gitCommit},
               {"git_tag", info.gitTag},
               {"instance_id", info.instanceId},
               {"cluster_id", info.clusterId}})
      .Register(*registry_)
      .Add({})
      .Set(1);
}

void Metrics::addCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::scrape() const {
  std::vector<MetricFamily> families = registry_->Collect();
  std::vector<MetricFamily> collected;
  {
    absl::MutexLock lock(&mu_);
    for (const Collector& collector : collectors_) {
      collector(collected);
    }
  }
  if (options_.processMetrics) {
    auto process = processFamilies();
    collected.insert(collected.end(), std::make_move_iterator(process.begin()),
                     std::make_move_iterator(process.end()));
  }
  addZone(collected, options_.zone);
  families.insert(families.end(), std::make_move_iterator(collected.begin()),
                  std::make_move_iterator(collected.end()));
  return prometheus::TextSerializer().Serialize(families);
}

MetricFamily makeFamily(std::string name, std::string help, MetricType type,
                        const std::vector<std::pair<prometheus::Labels, double>>& values) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  for (const auto& [labels, value] : values) {
    prometheus::ClientMetric metric;
    for (const auto& [k, v] : labels) {
      metric.label.push_back({k, v});
    }
    if (type == MetricType::Counter) {
      metric.counter.value = value;
    } else if (type == MetricType::Gauge) {
      metric.gauge.value = value;
    } else {
      metric.untyped.value = value;
    }
    family.metric.push_back(std::move(metric));
  }
  return family;
}

std::vector<MetricFamily> processFamilies() {
  std::vector<MetricFamily> out;
  const std::vector<std::string> stat = procSelfStat();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double pageSize = static_cast<double>(sysconf(_SC_PAGESIZE));
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  bool statOk = stat.size() > 24 && ticks > 0;
  if (statOk) {
    try {
      utime = std::stod(stat[14]);
      stime = std::stod(stat[15]);
      start = std::stod(stat[22]);
      vsize = std::stod(stat[23]);
      rss = std::stod(stat[24]);
    } catch (const std::exception&) {
      statOk = false;
    }
  }
  if (statOk) {
    // proc(5): 14 utime, 15 stime (clock ticks), 22 starttime (ticks after boot), 23 vsize
    // (bytes), 24 rss (pages).
    const double cpu = (utime + stime) / ticks;
    out.push_back(makeFamily("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.",
                             MetricType::Counter, {{{}, cpu}}));
    out.push_back(makeFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                             MetricType::Gauge, {{{}, rss * pageSize}}));
    out.push_back(makeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             MetricType::Gauge, {{{}, vsize}}));
    const double boot = bootTimeSeconds();
    if (boot > 0) {
      out.push_back(makeFamily("process_start_time_seconds",
                               "Start time of the process since unix epoch in seconds.",
                               MetricType::Gauge, {{{}, boot + start / ticks}}));
    }
  }
  const int fds = openFds();
  if (fds >= 0) {
    out.push_back(makeFamily("process_open_fds", "Number of open file descriptors.",
                             MetricType::Gauge, {{{}, static_cast<double>(fds)}}));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(makeFamily("process_max_fds", "Maximum number of open file descriptors.",
                             MetricType::Gauge, {{{}, static_cast<double>(limit.rlim_cur)}}));
  }
  return out;
}

}  // namespace kuma::metrics
