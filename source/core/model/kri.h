#pragma once

// File: kri.h
// Kuma Resource Identifiers (Kuma's pkg/core/kri): `kri_<shortName>_<mesh>_<zone>_<namespace>_
// <name>_<sectionName>`, as in `kri_mt_default_default__mt-all_`. Path parameters of the inspect
// API, so parsed as hostile input: bounded length, no allocation beyond the fields.
//
//   absl::StatusOr<Kri> id = parseKri("kri_dp_default_zone-1__web-1_http");
//   if (id.ok()) { id->shortName == "dp"; id->sectionName == "http"; }

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kuma::model {

struct Kri {
  std::string shortName;
  std::string mesh;
  std::string zone;
  std::string ns;
  std::string name;
  /** Everything after the sixth `_`, with the remaining `_` removed (Kuma's strings.Join("")). */
  std::string sectionName;
};

/** Longest KRI accepted (longer ones are invalid). */
inline constexpr size_t kMaxKriLength = 4096;

/**
 * Kuma's kri.FromString without the type lookup: at least 7 `_`-separated parts, the first
 * `kri`. Errors (InvalidArgument) carry Kuma's texts: `invalid identifier string: "<s>"`,
 * `identifier must start with 'kri': "<s>"`.
 */
absl::StatusOr<Kri> parseKri(std::string_view s);

/** The KRI's text (the inverse of parseKri for a section name without `_`). */
std::string formatKri(const Kri& kri);

}  // namespace kuma::model
