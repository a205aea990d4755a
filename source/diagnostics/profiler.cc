#include "source/diagnostics/profiler.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#if KUMA_HAVE_GPERFTOOLS
#include "gperftools/malloc_extension.h"
#include "gperftools/profiler.h"
#endif

namespace kuma::diagnostics {

#if KUMA_HAVE_GPERFTOOLS

namespace {

constexpr char kSampleVariable[] = "TCMALLOC_SAMPLE_PARAMETER";

// tcmalloc reads TCMALLOC_SAMPLE_PARAMETER once, when the library is loaded (before any code of
// ours can run: an executable's .preinit_array runs earlier, but libc resets the environment
// after it), and offers no call to change it later. So it has to come from the environment.
bool heapSamplingOn() {
  const char* value = getenv(kSampleVariable);
  int64_t rate = 0;
  return value != nullptr && absl::SimpleAtoi(value, &rate) && rate > 0;
}

// Shared libraries initialised before tcmalloc (whose flags are globals set by its own static
// initialisation) allocate on the main thread first; a thread cache created then may carry a
// sampler that read a sampling parameter of 0. Dropping the main thread's cache once every library
// is initialised (this runs with the executable's initialisers, before main) makes the next
// allocation create a fresh one.
[[maybe_unused]] const bool kMainThreadSamplerReset = [] {
  if (heapSamplingOn()) {
    MallocExtension::instance()->MarkThreadIdle();
  }
  return true;
}();

}  // namespace

bool profilerAvailable() {
  return true;
}

absl::StatusOr<std::string> collectCpuProfile(absl::Duration duration, absl::Notification& cancel) {
  char path[] = "/tmp/kuma-cp-cpu-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create a profile file: ", strerror(errno)));
  }
  close(fd);
  if (!ProfilerStart(path)) {
    unlink(path);
    return absl::FailedPreconditionError(
        "the CPU profiler could not start (is another profile running, e.g. CPUPROFILE?)");
  }
  cancel.WaitForNotificationWithTimeout(duration);
  ProfilerStop();  // flushes and closes the file
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  unlink(path);
  if (!in) {
    return absl::InternalError("cannot read the CPU profile file");
  }
  return bytes.str();
}

absl::StatusOr<std::string> heapProfile() {
  if (!heapSamplingOn()) {
    return absl::FailedPreconditionError(
        "heap sampling is off: start kuma-cp with TCMALLOC_SAMPLE_PARAMETER=524288 in its "
        "environment (tcmalloc cannot turn sampling on later)");
  }
  std::string out;
  MallocExtension::instance()->GetHeapSample(&out);
  return out;
}

#else  // !KUMA_HAVE_GPERFTOOLS

bool profilerAvailable() {
  return false;
}

absl::StatusOr<std::string> collectCpuProfile(absl::Duration, absl::Notification&) {
  return absl::UnimplementedError(
      "CPU profiling is not available: this kuma-cp was built without gperftools (e.g. the "
      "sanitizer build)");
}

absl::StatusOr<std::string> heapProfile() {
  return absl::UnimplementedError(
      "heap profiling is not available: this kuma-cp was built without gperftools/tcmalloc "
      "(e.g. the sanitizer build)");
}

#endif

}  // namespace kuma::diagnostics
