#pragma once

// File: tag_selector.h
// Kuma's legacy tag selectors (mesh_proto.TagSelector): a `match` map whose every tag must be
// present with that value, or any value for `*`, and its rank (how specific it is), which picks
// the best of several matching policies.
//
//   if (selectorMatches(selector, inboundTags) && rankOf(selector).compare(best) > 0) { ... }

#include <map>
#include <string>

#include "google/protobuf/map.h"

namespace kuma::resources {

using Tags = std::map<std::string, std::string>;

/** The value that matches any value of a tag. */
inline constexpr char kMatchAllTagValue[] = "*";

/** Kuma's TagSelectorRank: how specific a tag selector is. */
struct SelectorRank {
  int exact = 0;     // tags matched by value
  int wildcard = 0;  // tags matched by `*`
  /** More tags wins, then more exact ones; >0 when this one is more specific. */
  int compare(const SelectorRank& other) const;
  SelectorRank combinedWith(const SelectorRank& other) const {
    return {exact + other.exact, wildcard + other.wildcard};
  }
};

/** Kuma's TagSelector.Matches: every selector tag present with that value (or `*`). */
bool selectorMatches(const Tags& selector, const Tags& tags);
/** Kuma's TagSelector.Rank. */
SelectorRank rankOf(const Tags& selector);
/** A proto tag map as Tags. */
Tags toTags(const google::protobuf::Map<std::string, std::string>& m);

}  // namespace kuma::resources
