#pragma once

// File: version_command.h
// The `version [-a]` output shared by kuma-cp and kuma-dp (same layout as Kuma's).

#include <ostream>
#include <string_view>

#include "source/common/version.h"

namespace kuma::exe {

/**
 * Prints the version of `product` ("Kuma", "Kuma DP"): one line, or with `detailed` the product,
 * the Kuma version we are compatible with, our own version, commit, build type and Envoy version.
 */
inline void printVersion(std::ostream& out, std::string_view product, bool detailed) {
  if (detailed) {
    out << "Product:       " << product << " (kuma-cpp)\n"
        << "Version:       " << kuma::version::kKumaCompatible << "\n"
        << "kuma-cpp:      " << kuma::version::kBuildVersion << "\n"
        << "Git commit:    " << kuma::version::kGitCommit << "\n"
        << "Build type:    " << kuma::version::kBuildType << "\n"
        << "Envoy:         " << kuma::version::kEnvoyVersion << std::endl;
  } else {
    out << product << ": " << kuma::version::kKumaCompatible << " (kuma-cpp "
        << kuma::version::kBuildVersion << ", " << kuma::version::kGitCommit << ")" << std::endl;
  }
}

}  // namespace kuma::exe
