#pragma once

// File: envoy_version.h
// `envoy --version` prints `<binary>  version: <rev>/<x.y.z>[-suffix]/<status>/<type>/<ssl>`;
// kuma-dp reports the build and version to the control plane with /bootstrap (spec §5.2).

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kuma::dp {

struct EnvoyVersion {
  /** Everything after "version: ", e.g. `f387.../1.38.2/Clean/RELEASE/BoringSSL`. */
  std::string build;
  /** The second field, e.g. `1.38.2` (a `-dev` or similar suffix is kept). */
  std::string version;
};

/** Parses the output of `envoy --version`. InvalidArgument quoting the output otherwise. */
absl::StatusOr<EnvoyVersion> parseEnvoyVersion(std::string_view output);

/**
 * Whether `version` is the Envoy minor kuma-dp is built for (`expected`'s major.minor): the
 * `kumaDpCompatible` flag of the bootstrap request.
 */
bool envoyVersionCompatible(std::string_view version, std::string_view expected);

}  // namespace kuma::dp
