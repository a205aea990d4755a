#pragma once

// File: registry.h
// The one table of resource types. Built once at start-up (registerAllTypes), read-only after.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"

namespace kuma::model {

class TypeRegistry {
 public:
  /** Adds a type. Duplicate names or paths are a programming error (aborts). */
  void add(ResourceTypeDescriptor descriptor);

  /** @return the descriptor for a type name ("Dataplane"), or nullptr. */
  const ResourceTypeDescriptor* byName(std::string_view name) const;
  /** @return the descriptor for a REST collection path or alias ("dataplanes"), or nullptr. */
  const ResourceTypeDescriptor* byPath(std::string_view path) const;
  /** All descriptors sorted by name. */
  std::vector<const ResourceTypeDescriptor*> all() const;

 private:
  std::vector<std::unique_ptr<ResourceTypeDescriptor>> types_;
  std::map<std::string, const ResourceTypeDescriptor*, std::less<>> byName_;
  std::map<std::string, const ResourceTypeDescriptor*, std::less<>> byPath_;
};

}  // namespace kuma::model
