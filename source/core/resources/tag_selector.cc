#include "source/core/resources/tag_selector.h"

namespace kuma::resources {

int SelectorRank::compare(const SelectorRank& other) const {
  const int total = exact + wildcard;
  const int otherTotal = other.exact + other.wildcard;
  return total == otherTotal ? exact - other.exact : total - otherTotal;
}

bool selectorMatches(const Tags& selector, const Tags& tags) {
  for (const auto& [k, v] : selector) {
    auto it = tags.find(k);
    if (it == tags.end() || (v != kMatchAllTagValue && it->second != v)) {
      return false;
    }
  }
  return true;
}

SelectorRank rankOf(const Tags& selector) {
  SelectorRank r;
  for (const auto& [k, v] : selector) {
    (v == kMatchAllTagValue ? r.wildcard : r.exact)++;
  }
  return r;
}

Tags toTags(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

}  // namespace kuma::resources
