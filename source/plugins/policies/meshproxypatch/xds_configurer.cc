#include "source/plugins/policies/meshproxypatch/xds_configurer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/listener/v3/listener_components.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshproxypatch {
namespace {

using json = nlohmann::json;
using Cluster = envoy::config::cluster::v3::Cluster;
using Listener = envoy::config::listener::v3::Listener;
using NetworkFilter = envoy::config::listener::v3::Filter;
using FilterChain = envoy::config::listener::v3::FilterChain;
using Hcm = envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using HttpFilter = envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter;
using VirtualHost = envoy::config::route::v3::VirtualHost;

constexpr int kOrder = 9999;  // Kuma's MeshProxyPatch Order: after every other plugin

const std::string* stringAt(const json* obj, std::string_view key) {
  if (obj == nullptr) {
    return nullptr;
  }
  const json* v = member(*obj, key);
  return v != nullptr && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
}

bool isPassthrough(std::string_view name) {
  return name == "inbound:passthrough:ipv4" || name == "inbound:passthrough:ipv6" ||
         name == "outbound:passthrough:ipv4" || name == "outbound:passthrough:ipv6";
}

// Kuma's origin of a resource (core_xds.Resource.Origin), from kuma-cpp's names.
std::string listenerOrigin(std::string_view name) {
  if (isPassthrough(name)) {
    return "transparent";
  }
  if (name.starts_with("inbound:")) {
    return "inbound";
  }
  if (name.starts_with("outbound:")) {
    return "outbound";
  }
  if (name == "kuma:envoy:admin") {
    return "admin";
  }
  if (name.starts_with("kuma:dns")) {
    return "dns";
  }
  if (name.starts_with("kuma:metrics:prometheus")) {
    return "prometheus";
  }
  return "";
}

std::string clusterOrigin(const xds::ProxyContext& proxy, std::string_view name) {
  if (isPassthrough(name)) {
    return "transparent";
  }
  if (name == "kuma:envoy:admin" || name == "kuma:readiness") {
    return "admin";
  }
  if (name.starts_with("kuma:metrics:")) {
    return "prometheus";
  }
  if (name.starts_with("meshtrace:")) {
    return "mesh-trace";
  }
  if (proxy.inbounds != nullptr) {
    for (const xds::InboundTarget& inbound : *proxy.inbounds) {
      if (inbound.clusterName == name) {
        return "inbound";
      }
    }
  }
  if (name.starts_with("localhost:")) {
    return "inbound";
  }
  return "outbound";
}

// Kuma's TagSelector.Matches over the listener's `io.kuma.tags` metadata ("*": any value).
bool tagsMatch(const json& selector, const Listener& listener) {
  const auto& metadata = listener.metadata().filter_metadata();
  auto it = metadata.find("io.kuma.tags");
  for (auto s = selector.begin(); s != selector.end(); ++s) {
    if (!s.value().is_string()) {
      continue;
    }
    if (it == metadata.end()) {
      return false;
    }
    auto field = it->second.fields().find(s.key());
    if (field == it->second.fields().end() || !field->second.has_string_value()) {
      return false;
    }
    const std::string& want = s.value().get_ref<const std::string&>();
    if (want != "*" && want != field->second.string_value()) {
      return false;
    }
  }
  return true;
}

// The listeners a filter or virtual host modification applies to: name, origin and tags (the
// tag check needs the message, which unshares it).
std::vector<Listener*> matchingListeners(xds::ResourceSet& resources, const json* match,
                                         std::string_view nameKey, std::string_view tagsKey) {
  std::vector<Listener*> out;
  const std::string type = xds::ResourceSet::typeUrlOf<Listener>();
  const std::string* name = nameKey.empty() ? nullptr : stringAt(match, nameKey);
  const std::string* origin = stringAt(match, "origin");
  const json* tags = match != nullptr && !tagsKey.empty() ? member(*match, tagsKey) : nullptr;
  for (const std::string& n : resources.names(type)) {
    if (name != nullptr && *name != n) {
      continue;
    }
    if (origin != nullptr && *origin != listenerOrigin(n)) {
      continue;
    }
    Listener* listener = resources.find<Listener>(n);
    if (listener == nullptr) {
      continue;
    }
    if (tags != nullptr && tags->is_object() && !tags->empty() && !tagsMatch(*tags, *listener)) {
      continue;
    }
    out.push_back(listener);
  }
  return out;
}

bool hasPatches(const json& mod) {
  return arraySize(mod, "jsonPatches") > 0;
}

// Patch of one message: `jsonPatches`, else the merge of `patch` (the parsed value).
absl::Status patchMessage(const json& mod, const google::protobuf::Message* patch,
                          google::protobuf::Message& target) {
  if (hasPatches(mod)) {
    return applyJsonPatches(*member(mod, "jsonPatches"), target);
  }
  if (patch != nullptr) {
    mergeMessage(target, *patch);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> valueOf(const json& mod,
                                                                   ValueKind kind) {
  const std::string* text = stringAt(&mod, "value");
  if (text == nullptr) {
    return newMessage(kind);
  }
  return parseValue(kind, *text);
}

std::string operationOf(const json& mod) {
  const std::string* op = stringAt(&mod, "operation");
  return op != nullptr ? *op : "";
}

absl::Status applyCluster(const xds::ProxyContext& proxy, const json& mod,
                          xds::ResourceSet& resources) {
  auto value = valueOf(mod, ValueKind::Cluster);
  if (!value.ok()) {
    return value.status();
  }
  const std::string op = operationOf(mod);
  const std::string type = xds::ResourceSet::typeUrlOf<Cluster>();
  if (op == "Add") {
    resources.add(static_cast<Cluster&>(**value));
    return absl::OkStatus();
  }
  if (op != "Remove" && op != "Patch") {
    return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", op));
  }
  const json* match = member(mod, "match");
  const std::string* name = stringAt(match, "name");
  const std::string* origin = stringAt(match, "origin");
  for (const std::string& n : resources.names(type)) {
    if ((name != nullptr && *name != n) ||
        (origin != nullptr && *origin != clusterOrigin(proxy, n))) {
      continue;
    }
    if (op == "Remove") {
      resources.remove(type, n);
    } else if (Cluster* cluster = resources.find<Cluster>(n)) {
      // find() copies a shared cluster for this proxy first: the other proxies keep theirs.
      if (absl::Status s = patchMessage(mod, value->get(), *cluster); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status applyListener(const json& mod, xds::ResourceSet& resources) {
  auto value = valueOf(mod, ValueKind::Listener);
  if (!value.ok()) {
    return value.status();
  }
  const std::string op = operationOf(mod);
  const std::string type = xds::ResourceSet::typeUrlOf<Listener>();
  if (op == "Add") {
    resources.add(static_cast<Listener&>(**value));
    return absl::OkStatus();
  }
  if (op != "Remove" && op != "Patch") {
    return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", op));
  }
  const json* match = member(mod, "match");
  std::vector<std::string> removed;
  for (Listener* listener : matchingListeners(resources, match, "name", "tags")) {
    if (op == "Remove") {
      removed.push_back(listener->name());
    } else if (absl::Status s = patchMessage(mod, value->get(), *listener); !s.ok()) {
      return s;
    }
  }
  for (const std::string& n : removed) {
    resources.remove(type, n);
  }
  return absl::OkStatus();
}

// The position of the first element named `name`, or -1.
template <class Filters>
int indexOf(const Filters& filters, const std::string* name) {
  if (name == nullptr) {
    return -1;
  }
  for (int i = 0; i < filters.size(); ++i) {
    if (filters.Get(i).name() == *name) {
      return i;
    }
  }
  return -1;
}

// The filter list operations of networkFilter and httpFilter (Filter / HttpFilter lists).
template <class F, class PatchTyped>
absl::Status editFilters(google::protobuf::RepeatedPtrField<F>& filters, const std::string& op,
                         const std::string* name, const F& value, const PatchTyped& patchTyped) {
  if (op == "AddFirst") {
    *filters.Add() = value;
    std::rotate(filters.pointer_begin(), filters.pointer_end() - 1, filters.pointer_end());
  } else if (op == "AddLast") {
    *filters.Add() = value;
  } else if (op == "AddBefore" || op == "AddAfter") {
    const int idx = indexOf(filters, name);
    if (idx >= 0) {
      const int at = op == "AddBefore" ? idx : idx + 1;
      *filters.Add() = value;
      std::rotate(filters.pointer_begin() + at, filters.pointer_end() - 1, filters.pointer_end());
    }
  } else if (op == "Remove") {
    for (int i = filters.size() - 1; i >= 0; --i) {
      if (name == nullptr || filters.Get(i).name() == *name) {
        filters.DeleteSubrange(i, 1);
      }
    }
  } else if (op == "Patch") {
    for (F& filter : filters) {
      if (name != nullptr && filter.name() != *name) {
        continue;
      }
      if (absl::Status s = patchTyped(*filter.mutable_typed_config()); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("could not patch the resource: ", s.message()));
      }
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", op));
  }
  return absl::OkStatus();
}

template <class F>
auto typedPatcher(const json& mod, const F& value) {
  return [&mod, &value](google::protobuf::Any& typed) -> absl::Status {
    if (hasPatches(mod)) {
      return applyJsonPatchesToAny(*member(mod, "jsonPatches"), typed);
    }
    return mergeAnys(typed, value.typed_config());
  };
}

absl::Status applyNetworkFilter(const json& mod, xds::ResourceSet& resources) {
  auto value = valueOf(mod, ValueKind::NetworkFilter);
  if (!value.ok()) {
    return value.status();
  }
  const auto& filter = static_cast<const NetworkFilter&>(**value);
  const json* match = member(mod, "match");
  const std::string* name = stringAt(match, "name");
  const std::string op = operationOf(mod);
  for (Listener* listener : matchingListeners(resources, match, "listenerName", "listenerTags")) {
    for (FilterChain& chain : *listener->mutable_filter_chains()) {
      if (absl::Status s =
              editFilters(*chain.mutable_filters(), op, name, filter, typedPatcher(mod, filter));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status applyHttpFilter(const json& mod, xds::ResourceSet& resources) {
  auto value = valueOf(mod, ValueKind::HttpFilter);
  if (!value.ok()) {
    return value.status();
  }
  const auto& filter = static_cast<const HttpFilter&>(**value);
  const json* match = member(mod, "match");
  const std::string* name = stringAt(match, "name");
  const std::string op = operationOf(mod);
  for (Listener* listener : matchingListeners(resources, match, "listenerName", "listenerTags")) {
    for (FilterChain& chain : *listener->mutable_filter_chains()) {
      absl::Status s = xds::updateHttpConnectionManager(chain, [&](Hcm& hcm) {
        return editFilters(*hcm.mutable_http_filters(), op, name, filter,
                           typedPatcher(mod, filter));
      });
      if (!s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status applyVirtualHost(const json& mod, xds::ResourceSet& resources) {
  auto value = valueOf(mod, ValueKind::VirtualHost);
  if (!value.ok()) {
    return value.status();
  }
  const auto& vhValue = static_cast<const VirtualHost&>(**value);
  const json* match = member(mod, "match");
  const std::string* name = stringAt(match, "name");
  const std::string* routeName = stringAt(match, "routeConfigurationName");
  const std::string op = operationOf(mod);
  if (op != "Add" && op != "Remove" && op != "Patch") {
    return absl::InvalidArgumentError(absl::StrCat("invalid operation: ", op));
  }
  for (Listener* listener : matchingListeners(resources, match, "", "")) {
    for (FilterChain& chain : *listener->mutable_filter_chains()) {
      absl::Status s = xds::updateHttpConnectionManager(chain, [&](Hcm& hcm) -> absl::Status {
        if (!hcm.has_route_config()) {
          return absl::OkStatus();  // Kuma ignores HCMs without an embedded route configuration
        }
        auto& routes = *hcm.mutable_route_config();
        if (routeName != nullptr && *routeName != routes.name()) {
          return absl::OkStatus();
        }
        auto& hosts = *routes.mutable_virtual_hosts();
        if (op == "Add") {
          *hosts.Add() = vhValue;
          return absl::OkStatus();
        }
        for (int i = hosts.size() - 1; i >= 0; --i) {
          if (name != nullptr && hosts.Get(i).name() != *name) {
            continue;
          }
          if (op == "Remove") {
            hosts.DeleteSubrange(i, 1);
          } else if (absl::Status p = patchMessage(mod, &vhValue, *hosts.Mutable(i)); !p.ok()) {
            return p;
          }
        }
        return absl::OkStatus();
      });
      if (!s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status applyModification(const xds::ProxyContext& proxy, const json& modification,
                               xds::ResourceSet& resources) {
  if (const json* m = member(modification, "cluster")) {
    return applyCluster(proxy, *m, resources);
  }
  if (const json* m = member(modification, "listener")) {
    return applyListener(*m, resources);
  }
  if (const json* m = member(modification, "networkFilter")) {
    return applyNetworkFilter(*m, resources);
  }
  if (const json* m = member(modification, "httpFilter")) {
    return applyHttpFilter(*m, resources);
  }
  if (const json* m = member(modification, "virtualHost")) {
    return applyVirtualHost(*m, resources);
  }
  return absl::InvalidArgumentError("invalid modification");
}

}  // namespace

absl::Status applyModifications(const xds::ProxyContext& proxy,
                                const std::vector<const json*>& modifications,
                                xds::ResourceSet& resources) {
  for (size_t i = 0; i < modifications.size(); ++i) {
    if (absl::Status s = applyModification(proxy, *modifications[i], resources); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not apply ", i, " modification: ", s.message()));
    }
  }
  return absl::OkStatus();
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshProxyPatch";
}

int XdsConfigurer::order() const {
  return kOrder;
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  // Kuma merges the policies' `default`s with their `append*` lists concatenated, in precedence
  // order (least specific first).
  std::vector<const json*> modifications;
  for (const json* spec : specs) {
    const json* conf = member(*spec, "default");
    const json* mods = conf == nullptr ? nullptr : member(*conf, "appendModifications");
    if (mods != nullptr && mods->is_array()) {
      for (const json& m : *mods) {
        modifications.push_back(&m);
      }
    }
  }
  return applyModifications(proxy, modifications, resources);
}

}  // namespace kuma::policies::meshproxypatch
