#pragma once

// File: rest_codec.h
// Resources in Kuma's REST/YAML form, both directions:
//   Flat types:       {type, mesh?, name, creationTime, modificationTime, labels?, kri?, <spec>}
//   SpecStatus types: {type, mesh?, name, creationTime, modificationTime, labels?, kri?, spec,
//   status?}

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"

namespace kuma::model {

/** Go's time.RFC3339Nano in UTC ("2026-11-26T04:33:09.123Z"; the zero time for the epoch default).
 */
std::string formatTime(absl::Time t);

/** Kuma's resource identifier `kri_<short>_<mesh>_<zone>_<namespace>_<name>_<section>`, or "" for
 *  types without a short name. */
std::string kriOf(const Resource& resource);

/** The REST JSON of a resource. */
nlohmann::ordered_json toRestJson(const Resource& resource);

/** What a REST body says about itself, before any check against the URL. */
struct RestBody {
  std::string type;
  std::string name;
  std::string mesh;
  Resource resource;  // descriptor, meta.name/mesh/labels and spec filled from the body
};

/**
 * Parses a REST body for `descriptor`. Meta keys are read (unknown ones ignored, times and kri
 * ignored); the spec is parsed by the descriptor.
 * @return InvalidArgument: not an object, a meta key of the wrong JSON type, or a spec the
 *         descriptor cannot parse (possibly a validation status with field paths).
 */
absl::StatusOr<RestBody> fromRestJson(const ResourceTypeDescriptor& descriptor,
                                      const nlohmann::json& body);

}  // namespace kuma::model
