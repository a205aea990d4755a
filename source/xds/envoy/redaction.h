#pragma once

// File: redaction.h
// Secret material never leaves through the inspect API. Kuma 2.14 renders a proxy's config for
// inspection (`GET /meshes/{mesh}/dataplanes/{name}/_config`) with stand-in secrets: the identity
// certificate is "CERT", its key "KEY" and every CA bundle "CA" (pkg/core/xds/inspect/config.go,
// `dummySecrets`). redactSecretMaterial() puts the same stand-ins into Envoy JSON that was
// generated with the real secrets, and then replaces any other string that still carries a PEM
// block, as text or base64-encoded as protobuf `bytes` fields are in JSON, with "[redacted]".
//
//   nlohmann::ordered_json cfg = ...;   // {"<typeUrl>": {"<name>": <Envoy JSON>}}
//   kuma::xds::redactSecretMaterial(cfg);

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::xds {

/** Replaces key, certificate and CA material anywhere inside `value` (Envoy JSON, camelCase or
 *  proto field names) in place. */
void redactSecretMaterial(nlohmann::ordered_json& value);

/** An Envoy admin config dump (JSON text, from the proxy: parsed with the bounded parser) with
 *  its secret material redacted as above. InvalidArgument when it is not JSON. */
absl::StatusOr<std::string> redactConfigDump(std::string_view text);

/** True when `text`, as is or base64-decoded, contains a PEM block (`-----BEGIN`). */
bool containsPem(std::string_view text);

}  // namespace kuma::xds
