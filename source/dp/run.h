#pragma once

// File: run.h
// `kuma-dp run`: the run sequence and the supervisor (spec §9).
//
//   config → DNS check → Dataplane template → work dir → `envoy --version` → concurrency →
//   POST /bootstrap (retried) → <workdir>/bootstrap.yaml → readiness endpoint → Envoy → wait.
//
// Waiting, on the calling thread (signals are taken synchronously with sigtimedwait):
//   SIGTERM/SIGINT  readiness "terminating", POST admin /healthcheck/fail, wait the drain time,
//                   stop Envoy, exit 0;
//   SIGUSR2         POST admin /drain_listeners?inboundonly&graceful&skip_exit, keep running;
//   Envoy exits     exit 1 with its exit status (never restarted);
//   ADS refused     (UNAUTHENTICATED/PERMISSION_DENIED in Envoy's log) before Envoy ever got
//                   config: stop Envoy, exit 1 with the control plane's reason.

#include <chrono>

#include "source/dp/config.h"

namespace kuma::dp {

/** Exit codes of `kuma-dp run`. */
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;

/** How many ADS refusals (before Envoy is LIVE) make kuma-dp give up. */
inline constexpr int kAdsRefusalsBeforeExit = 2;

/**
 * Blocks SIGTERM, SIGINT, SIGUSR2 and SIGCHLD in the calling thread. Call it first in main(),
 * before any thread exists, so every thread inherits the mask.
 */
void blockSupervisorSignals();

/** Runs the data plane proxy until it is stopped. @return the process exit code. */
int runDataplane(const Config& config);

}  // namespace kuma::dp
