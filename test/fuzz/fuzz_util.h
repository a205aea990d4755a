#pragma once

// File: fuzz_util.h
// Helpers shared by the fuzz targets (docs/fuzzing.md): picking a registered resource type from
// an input byte, and FUZZ_CHECK, the oracle failure that libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"
#include "source/server/all_types.h"

namespace kuma::fuzz {

/** Every registered type, sorted by name (the order of TypeRegistry::all()). */
inline const std::vector<const model::ResourceTypeDescriptor*>& registeredTypes() {
  static const auto* const types =
      new std::vector<const model::ResourceTypeDescriptor*>(server::allTypes().all());
  return *types;
}

/** The type an input's selector byte stands for: byte % number of types. */
inline const model::ResourceTypeDescriptor& typeForByte(uint8_t selector) {
  const auto& types = registeredTypes();
  return *types[selector % types.size()];
}

/**
 * For tools/fuzz/make_corpus.py: with KUMA_FUZZ_LIST_TYPES set, prints the registered type names
 * in selector order and exits. Called from LLVMFuzzerInitialize of the targets that select types.
 */
inline void maybeListTypes() {
  if (std::getenv("KUMA_FUZZ_LIST_TYPES") == nullptr) {
    return;
  }
  for (const auto* type : registeredTypes()) {
    std::printf("%s\n", type->name.c_str());
  }
  std::exit(0);
}

/** The input as text. */
inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line, condition, detail.c_str());
  std::abort();
}

}  // namespace kuma::fuzz

/** An oracle of a fuzz target: aborts (a crash for libFuzzer) with `detail` when `cond` is false.
 */
#define FUZZ_CHECK(cond, detail)                             \
  do {                                                       \
    if (!(cond)) {                                           \
      ::kuma::fuzz::fail(__FILE__, __LINE__, #cond, detail); \
    }                                                        \
  } while (false)
