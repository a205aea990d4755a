#pragma once

// File: resource_set.h
// The Envoy resources of one proxy while they are generated and the policy plugins edit them
// (kuma/xds/policy_plugin.h): per type URL, name → either a finished, serialized resource
// (possibly shared with other proxies) or a message a plugin is editing. Resources are
// serialized when added, while their message is still in cache: a proxy with a thousand
// outbounds would otherwise keep a thousand listener messages alive (megabytes) and serialize
// them cold at the end. find() parses one back for editing; finalize() serializes those again.
//
//   ResourceSet rs;
//   rs.add(cluster);                                  // serialized now, by its name
//   rs.addShared(kClusterType, sharedCluster);        // serialized once, shared
//   if (auto* c = rs.find<envoy::config::cluster::v3::Cluster>("backend")) { ... }  // copy on
//   write std::map<std::string, std::map<std::string, ResourceConstSharedPtr>> out = rs.finalize();

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"
#include "kuma/xds/snapshot.h"

namespace kuma::xds {

class ResourceSet {
 public:
  using Types = std::map<std::string, std::map<std::string, ResourceConstSharedPtr>>;

  /** The type URL of message type T ("type.googleapis.com/envoy.config.cluster.v3.Cluster"). */
  template <class T>
  static std::string typeUrlOf() {
    return std::string("type.googleapis.com/") + std::string(T::descriptor()->full_name());
  }

  /** Adds (or replaces) `message` of `typeUrl` under `name`, serialized. */
  void add(const std::string& typeUrl, std::string name,
           std::unique_ptr<google::protobuf::Message> message);
  /** Adds (or replaces) a message under its own name (`name`, or `cluster_name` for endpoints). */
  template <class T>
  void add(T message) {
    std::string name = nameOf(message);
    add(typeUrlOf<T>(), std::move(name), std::make_unique<T>(std::move(message)));
  }
  /** Adds (or replaces) a finished resource; it stays shared until mutably accessed. */
  void addShared(const std::string& typeUrl, ResourceConstSharedPtr resource);

  bool contains(const std::string& typeUrl, const std::string& name) const;
  /**
   * Is `name` a resource added with addShared() and not accessed mutably since (find() would
   * copy it for this proxy)? Lets a plugin that handled the shared resources in a shared hook
   * edit only the proxy's own ones.
   */
  bool isShared(const std::string& typeUrl, const std::string& name) const;
  /** Removes the resource; false when there was none. */
  bool remove(const std::string& typeUrl, const std::string& name);
  /** Removes every resource (ProxyTemplate without the default profile). */
  void clear();
  /** Names of every resource of `typeUrl`, sorted. */
  std::vector<std::string> names(const std::string& typeUrl) const;

  /**
   * The resource `name` of T's type for editing, or nullptr. A finished entry is parsed into a
   * private message first (a shared one stops being shared with other proxies); later calls
   * return the same message.
   */
  template <class T>
  T* find(const std::string& name) {
    return static_cast<T*>(mutableMessage(typeUrlOf<T>(), name, T::default_instance()));
  }

  /**
   * Records that the set carries endpoints of `service` (a plugin added them from the mesh
   * context): the proxy depends on that service as on its own destinations.
   */
  void dependOn(std::string service) { dependencies_.insert(std::move(service)); }
  const std::set<std::string>& dependencies() const { return dependencies_; }

  /** Serializes every message; the set is empty afterwards. */
  Types finalize();

 private:
  template <class T>
  static std::string nameOf(const T& message) {
    if constexpr (requires { message.cluster_name(); }) {
      return message.cluster_name();
    } else {
      return message.name();
    }
  }
  google::protobuf::Message* mutableMessage(const std::string& typeUrl, const std::string& name,
                                            const google::protobuf::Message& prototype);

  // A resource is in exactly one of the two: finished (serialized, possibly shared with other
  // proxies) or being edited. finalize() moves the finished map out, so shared resources are
  // inserted once.
  Types finished_;
  std::map<std::string, std::map<std::string, std::unique_ptr<google::protobuf::Message>>> editing_;
  // Names of the finished entries that came from addShared() and were not accessed mutably.
  std::map<std::string, std::set<std::string>> shared_;
  std::set<std::string> dependencies_;
};

}  // namespace kuma::xds
