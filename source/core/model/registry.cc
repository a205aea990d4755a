#include "source/core/model/registry.h"

#include <cstdlib>
#include <iostream>

namespace kuma::model {

void TypeRegistry::add(ResourceTypeDescriptor descriptor) {
  auto owned = std::make_unique<ResourceTypeDescriptor>(std::move(descriptor));
  const ResourceTypeDescriptor* d = owned.get();
  auto check = [&](bool inserted, std::string_view what) {
    if (!inserted) {
      std::cerr << "duplicate resource type " << what << ": " << d->name << std::endl;
      std::abort();
    }
  };
  check(byName_.emplace(d->name, d).second, "name");
  if (!d->wsPath.empty()) {  // a type without a REST path (Config) is found by name only
    check(byPath_.emplace(d->wsPath, d).second, "path");
  }
  for (const auto& alias : d->wsAliases) {
    check(byPath_.emplace(alias, d).second, "alias");
  }
  types_.push_back(std::move(owned));
}

const ResourceTypeDescriptor* TypeRegistry::byName(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

const ResourceTypeDescriptor* TypeRegistry::byPath(std::string_view path) const {
  auto it = byPath_.find(path);
  return it == byPath_.end() ? nullptr : it->second;
}

std::vector<const ResourceTypeDescriptor*> TypeRegistry::all() const {
  std::vector<const ResourceTypeDescriptor*> out;
  out.reserve(byName_.size());
  for (const auto& [_, d] : byName_) {
    out.push_back(d);
  }
  return out;
}

}  // namespace kuma::model
