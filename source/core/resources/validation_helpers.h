#pragma once

// File: validation_helpers.h
// Building blocks shared by the validators of Kuma's proto-based types: ports, tags, selectors,
// durations, addresses. Each appends violations (Kuma's wording) under a caller-given path, so a
// validator can report every problem of a resource at once.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/map.h"

#include "api/mesh/v1alpha1/selector.pb.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {

using validators::PathBuilder;
using validators::ValidationError;
using TagMap = google::protobuf::Map<std::string, std::string>;

inline constexpr std::string_view kServiceTag = "kuma.io/service";
inline constexpr std::string_view kProtocolTag = "kuma.io/protocol";
inline constexpr std::string_view kZoneTag = "kuma.io/zone";

/** Options of validateTags/validateSelector (Kuma's ValidateTagsOpts). */
struct TagsOptions {
  bool requireAtLeastOneTag = false;
  bool requireService = false;
  /** Selector semantics: values may be "*" and contain slashes. */
  bool selector = false;
  /** Runs before the per-tag checks (e.g. the kuma.io/protocol check). */
  std::vector<std::function<void(const PathBuilder&, const TagMap&, ValidationError&)>> extra;
  /** Runs for every key (after Kuma's own key checks). */
  std::vector<std::function<void(const PathBuilder&, const std::string&, ValidationError&)>>
      extraKey;
};

/** Options of validateSelectors (Kuma's ValidateSelectorsOpts). */
struct SelectorsOptions {
  bool requireAtLeastOneSelector = false;
  TagsOptions tags;
};

/** "port must be in the range [1, 65535]" when port is 0 or > 65535. */
void validatePort(const PathBuilder& path, uint32_t port, ValidationError& errors);

/** Tag names/values (keys visited in sorted order, as Kuma does). */
void validateTags(const PathBuilder& path, const TagMap& tags, const TagsOptions& options,
                  ValidationError& errors);

/** `sources`/`destinations` of legacy policies: every selector's `match` at `path[i].match`. */
void validateSelectors(
    const PathBuilder& path,
    const google::protobuf::RepeatedPtrField<mesh::v1alpha1::Selector>& selectors,
    const SelectorsOptions& options, ValidationError& errors);

/** Kuma's OnlyServiceTagAllowed: at least one selector, each exactly {kuma.io/service: x}. */
SelectorsOptions onlyServiceTagAllowed();

/** Set durations must be valid and positive ("must have a valid value" / "must have a positive
 *  value"). */
void validateDuration(const PathBuilder& path, const google::protobuf::Duration& duration,
                      ValidationError& errors);

/** Kuma's tagNameCharacterSet: letters, digits, '.', '-', '_', ':' and '/' (empty too). */
bool isTagName(std::string_view text);

/** True for an IPv4 or IPv6 literal (Go's net.ParseIP). */
bool isIp(std::string_view text);
/** True for a DNS name as govalidator.IsDNSName accepts it. */
bool isDnsName(std::string_view text);

/** Splits "host:port" like Go's net.SplitHostPort ("[v6]:port" allowed). @return false when
 *  malformed. */
bool splitHostPort(std::string_view text, std::string& host, std::string& port);

/** Kuma's protocol names: tcp, tls, http, http2, grpc, kafka, mysql (case-insensitive). */
bool isKnownProtocol(std::string_view protocol);
/** "Allowed values: grpc, http, http2, kafka, tcp" (Kuma's hint text). */
std::string protocolAllowedValuesHint();

/** Sorted keys of a proto map (Kuma iterates tags in key order). */
std::vector<std::string> sortedKeys(const TagMap& tags);

}  // namespace kuma::resources
