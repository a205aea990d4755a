#pragma once

// File: envoy_value.h
// The Envoy side of MeshProxyPatch, shared by its validation (the REST API) and its xDS plugin:
// a modification's `value` (YAML or JSON of an Envoy message, Any payloads by `@type`) parsed
// into the typed message as Kuma's util_proto.FromYAML does (unknown fields ignored), Kuma's
// merge of a patch value into a resource (proto merge, Durations replaced whole), and
// `jsonPatches` (RFC 6902) applied to the message's proto3 JSON form.
//
// JSON Patch is nlohmann::json::patch (the JSON library the repo already uses; Debian's
// nlohmann-json3-dev), applied one operation at a time with the options Kuma gives evanphx's
// json-patch: an `add` creates missing parent objects, a `remove` of a missing path does nothing,
// a negative array index counts from the end. Every input is hostile: the value text is bounded
// (kMaxValueBytes) and so is the JSON form a patch may grow to (kMaxPatchedBytes, e.g. by
// repeated `copy`); each violation is an InvalidArgument error, never an exception.
//
//   auto cluster = parseValue(ValueKind::Cluster, "name: c\nconnectTimeout: 2s");
//   absl::Status s = applyJsonPatches(patches, **cluster);

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshproxypatch {

/** Largest `value` text accepted. */
inline constexpr size_t kMaxValueBytes = 1u << 20;
/** Largest JSON form of a resource a block of `jsonPatches` may produce. */
inline constexpr size_t kMaxPatchedBytes = 8u << 20;

/** What a modification's `value` is. */
enum class ValueKind { Cluster, Listener, NetworkFilter, HttpFilter, VirtualHost };

/** A new empty message of the kind's Envoy type. */
std::unique_ptr<google::protobuf::Message> newMessage(ValueKind kind);

/** Parses `text` (YAML, or JSON) into `out` (cleared first). */
absl::Status parseInto(std::string_view text, google::protobuf::Message& out);

/** A new message of `kind` parsed from `text`. */
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> parseValue(ValueKind kind,
                                                                      std::string_view text);

/**
 * Kuma's util_envoy.ResourceFromYaml: `text` (YAML, or JSON) is a google.protobuf.Any, `@type`
 * and the message's fields; the result is a new message of that type. ProxyTemplate's raw
 * resources.
 */
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> parseAnyResource(std::string_view text);

/**
 * Kuma's validation of a `value` (mesh.ValidateAnyResourceYAML, or ...YAMLPatch when `patch`):
 * it parses; an added value also passes the message's required-field rules that Kuma's
 * protoc-gen-validate checks report for these kinds (filter names, virtual host name and
 * domains). The error text is the reason after "native Envoy resource is not valid: ".
 */
absl::Status validateNativeValue(ValueKind kind, std::string_view text, bool patch);

/** Kuma's util_proto.Merge: proto merge of `src` into `dst`, Duration fields replaced whole. */
void mergeMessage(google::protobuf::Message& dst, const google::protobuf::Message& src);

/** Kuma's util_proto.MergeAnys: both unpacked (same type URL), merged, packed again. */
absl::Status mergeAnys(google::protobuf::Any& dst, const google::protobuf::Any& src);

/** Applies the RFC 6902 `patches` (Kuma's JsonPatchBlock list) to `message`'s JSON form. */
absl::Status applyJsonPatches(const nlohmann::json& patches, google::protobuf::Message& message);

/** As applyJsonPatches() on the message packed in `any` (Kuma's MergeJsonPatchAny). */
absl::Status applyJsonPatchesToAny(const nlohmann::json& patches, google::protobuf::Any& any);

}  // namespace kuma::policies::meshproxypatch
