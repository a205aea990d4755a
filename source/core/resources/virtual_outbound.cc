#include "source/core/resources/virtual_outbound.h"

#include <algorithm>
#include <limits>
#include <regex>
#include <set>

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "source/common/go_quote.h"
#include "source/common/go_template.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/validation_helpers.h"

namespace kuma::resources {
namespace {

using mesh::v1alpha1::VirtualOutbound;
using Parameter = VirtualOutbound::Conf::TemplateParameter;

constexpr char kHasToBeDefined[] = "has to be defined";

const std::string& tagKeyOrName(const Parameter& p) {
  return p.tag_key().empty() ? p.name() : p.tag_key();
}

// Kuma's evalTemplate: the template over the parameters' values (a parameter whose tag is
// missing is absent: Go renders it "<no value>").
absl::StatusOr<std::string> evalTemplate(const VirtualOutbound& spec, const std::string& text,
                                         const Tags& tags) {
  common::GoTemplate::Data data;
  for (const Parameter& p : spec.conf().parameters()) {
    if (auto it = tags.find(tagKeyOrName(p)); it != tags.end()) {
      data.fields[p.name()] = it->second;
    }
  }
  auto parsed = common::GoTemplate::parse(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed compiling gotemplate error=",
                     common::goQuote(common::sv(parsed.status().message()))));
  }
  auto out = parsed->execute(data);
  if (!out.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pre evaluation of template with parameters failed with error=",
                     common::goQuote(common::sv(out.status().message()))));
  }
  return out;
}

// Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, within int64.
bool parseGoInt64(std::string_view s, int64_t& out) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  uint64_t value = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (limit - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  out = negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  return true;
}

// Kuma's validateHost / validatePort: the template evaluated with every parameter set to `stub`.
template <class Eval>
void preEvaluate(const VirtualOutbound& spec, const PathBuilder& path, const std::string& text,
                 const char* stub, Eval eval, ValidationError& errors) {
  if (text.empty()) {
    errors.addViolationAt(path, kHasToBeDefined);
    return;
  }
  Tags stubs;
  for (const Parameter& p : spec.conf().parameters()) {
    stubs[tagKeyOrName(p)] = stub;
  }
  if (auto result = eval(spec, stubs); !result.ok()) {
    errors.addViolationAt(path,
                          absl::StrCat("template pre evaluation failed with error=",
                                       common::goQuote(common::sv(result.status().message()))));
  }
}

}  // namespace

void validateVirtualOutbound(const VirtualOutbound& spec, ValidationError& errors) {
  SelectorsOptions selectors;
  selectors.requireAtLeastOneSelector = true;
  selectors.tags.requireAtLeastOneTag = true;
  validateSelectors(PathBuilder("selectors"), spec.selectors(), selectors, errors);
  const PathBuilder conf("conf");
  if (!spec.has_conf()) {
    errors.addViolationAt(conf, kHasToBeDefined);
    return;
  }
  static const std::regex kKeyName("^[a-zA-Z0-9]+$");
  const PathBuilder parameters = conf.field("parameters");
  bool hasService = false;
  std::set<std::string> names;
  for (int i = 0; i < spec.conf().parameters_size(); ++i) {
    const Parameter& p = spec.conf().parameters(i);
    const PathBuilder at = parameters.index(i);
    if (!names.insert(p.name()).second) {
      errors.addViolationAt(at.field("name"), "name is already used");
    }
    if (!p.tag_key().empty()) {
      hasService = hasService || p.tag_key() == kServiceTag;
      if (!isTagName(p.tag_key())) {
        errors.addViolationAt(at.field("tagKey"), "must be a valid tag name");
      }
    } else if (!isTagName(p.name())) {
      errors.addViolationAt(at.field("name"),
                            "must be a valid tag name if you are not setting tagKey");
    }
    if (!std::regex_match(p.name(), kKeyName)) {
      errors.addViolationAt(
          at.field("name"),
          "must consist of alphanumeric characters to be used as a gotemplate key");
    }
  }
  if (!hasService) {
    errors.addViolationAt(parameters, absl::StrCat("must contain a parameter with ",
                                                   common::av(kServiceTag), " as a tagKey"));
  }
  preEvaluate(spec, conf.field("host"), spec.conf().host(), "dummy", &evalVirtualOutboundHost,
              errors);
  preEvaluate(spec, conf.field("port"), spec.conf().port(), "1", &evalVirtualOutboundPort, errors);
}

absl::StatusOr<std::string> evalVirtualOutboundHost(const VirtualOutbound& spec, const Tags& tags) {
  auto host = evalTemplate(spec, spec.conf().host(), tags);
  if (!host.ok()) {
    return host.status();
  }
  if (!isDnsName(*host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation of template with parameters didn't return a valid dns name result=",
        common::goQuote(*host)));
  }
  return host;
}

absl::StatusOr<uint32_t> evalVirtualOutboundPort(const VirtualOutbound& spec, const Tags& tags) {
  auto text = evalTemplate(spec, spec.conf().port(), tags);
  if (!text.ok()) {
    return text.status();
  }
  int64_t port = 0;
  if (!parseGoInt64(*text, port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation of template with parameters didn't evaluate to a parsable number result=",
        common::goQuote(*text)));
  }
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation of template returned a port outside of the range [1..65535] result=", port));
  }
  return static_cast<uint32_t>(port);
}

Tags filterVirtualOutboundTags(const VirtualOutbound& spec, const Tags& tags) {
  Tags out;
  for (const Parameter& p : spec.conf().parameters()) {
    const std::string& key = tagKeyOrName(p);
    if (auto it = tags.find(key); it != tags.end()) {
      out[key] = it->second;
    }
  }
  return out;
}

std::vector<const model::Resource*> matchVirtualOutbounds(
    const std::vector<model::ResourceConstSharedPtr>& vos, const Tags& tags) {
  struct Matched {
    SelectorRank rank;
    const model::Resource* vo;
  };
  std::vector<Matched> matched;
  for (const auto& vo : vos) {
    const auto* spec = vo == nullptr ? nullptr : model::protoSpecOf<VirtualOutbound>(*vo);
    if (spec == nullptr) {
      continue;
    }
    bool found = false;
    SelectorRank best;
    for (const auto& selector : spec->selectors()) {
      const Tags match = toTags(selector.match());
      if (match.empty() || !selectorMatches(match, tags)) {
        continue;  // Kuma: an empty best selector means no match
      }
      const SelectorRank rank = rankOf(match);
      if (!found || best.compare(rank) < 0) {
        best = rank;
        found = true;
      }
    }
    if (found) {
      matched.push_back({best, vo.get()});
    }
  }
  std::stable_sort(matched.begin(), matched.end(), [](const Matched& a, const Matched& b) {
    const int c = a.rank.compare(b.rank);
    return c == 0 ? a.vo->meta.creationTime > b.vo->meta.creationTime : c > 0;
  });
  std::vector<const model::Resource*> out;
  out.reserve(matched.size());
  for (const Matched& m : matched) {
    out.push_back(m.vo);
  }
  return out;
}

}  // namespace kuma::resources
