#pragma once

// File: profiler.h
// Whole-process CPU and heap profiles from gperftools, in the formats the standard `pprof` tools
// read (gperftools' legacy CPU profile; tcmalloc's sampled heap profile, `heap_v2`). Builds
// without gperftools (the sanitizer flavour, which brings its own allocator) compile a stub whose
// calls answer Unimplemented.
//
// Heap samples exist only when tcmalloc samples allocations, i.e. when TCMALLOC_SAMPLE_PARAMETER
// is positive in the environment the process starts with (524288, one sample per ~512 KiB
// allocated, is Go's default rate); tcmalloc cannot turn sampling on later.

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace kuma::diagnostics {

/** Whether this build can take CPU and heap profiles. */
bool profilerAvailable();

/**
 * Samples the CPU use of every thread for `duration` (or until `cancel` is notified) and returns
 * the profile file's bytes. Blocks the calling thread only; gperftools allows one CPU profile per
 * process, so callers serialize.
 * @return Unimplemented without gperftools; FailedPrecondition when the profiler cannot start
 *   (e.g. another profile started through CPUPROFILE is running); Internal on file errors.
 */
absl::StatusOr<std::string> collectCpuProfile(absl::Duration duration, absl::Notification& cancel);

/**
 * The live heap sampled by tcmalloc, as pprof's legacy heap profile text.
 * @return Unimplemented without gperftools; FailedPrecondition when sampling is off
 *   (TCMALLOC_SAMPLE_PARAMETER ≤ 0).
 */
absl::StatusOr<std::string> heapProfile();

}  // namespace kuma::diagnostics
