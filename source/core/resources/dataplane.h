#pragma once

// File: dataplane.h
// Dataplane rules and helpers: validation (Kuma's dataplane_validator, every violation with its
// REST field path), the `kuma.io/zone` defaulting the manager applies on write, and the small
// queries the REST layer needs (tag filter, gateway check).
//
//   ValidationError errors;
//   validateDataplane(dp, errors);   // errors.violations() lists every problem

#include <optional>
#include <string_view>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {

/** Appends every violation of a Dataplane spec (paths like `networking.inbound[0].port`). */
void validateDataplane(const mesh::v1alpha1::Dataplane& dataplane,
                       validators::ValidationError& errors);

/**
 * The spec with `kuma.io/zone: <zone>` on every inbound that has tags and on non-empty gateway
 * tags (Kuma's dataplane manager does this on every write).
 * @return the changed spec, or nullopt when it already carries the tags.
 */
std::optional<mesh::v1alpha1::Dataplane> dataplaneWithZoneTags(
    const mesh::v1alpha1::Dataplane& dataplane, std::string_view zone);

/**
 * The spec with every inbound that has a serviceProbe set to `state: NotReady` and
 * `health.ready: false` (what Kuma does on Dataplane *create*, until HDS reports healthy).
 * @return the changed spec, or nullopt when nothing changes.
 */
std::optional<mesh::v1alpha1::Dataplane> dataplaneWithProbedInboundsNotReady(
    const mesh::v1alpha1::Dataplane& dataplane);

/**
 * The `tag=key:value` list filter of GET /meshes/{mesh}/dataplanes: true when an inbound's (or
 * the gateway's) tag `key` contains `valueSubstring`; `*` matches any value of a present tag.
 * A resource whose spec is not a Dataplane never matches.
 */
bool dataplaneMatchesTag(const model::Resource& dataplane, std::string_view key,
                         std::string_view valueSubstring);

/** @return whether the Dataplane is a gateway (delegated or builtin); nullopt if the resource is
 *  not a Dataplane. */
std::optional<bool> dataplaneIsGateway(const model::Resource& dataplane);

/** @return true for `networking.gateway.type: BUILTIN` (computed label kuma.io/proxy-type). */
bool dataplaneIsBuiltinGateway(const mesh::v1alpha1::Dataplane& dataplane);

}  // namespace kuma::resources
