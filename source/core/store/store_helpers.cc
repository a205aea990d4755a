#include "source/core/store/store_helpers.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "source/core/store/errors.h"

namespace kuma::store {

ResourceKey keyOf(const model::Resource& resource) {
  return ResourceKey{resource.meta.name, resource.meta.mesh};
}

absl::Status validateKey(const model::ResourceTypeDescriptor& type, const ResourceKey& key) {
  if (key.name.empty()) {
    return invalid(absl::StrCat("resource of type ", type.name, ": name must not be empty"));
  }
  if (type.scope == model::Scope::Mesh && key.mesh.empty()) {
    return invalid(absl::StrCat("resource ", describeKey(type.name, key),
                                ": mesh must not be empty for a mesh-scoped type"));
  }
  if (type.scope == model::Scope::Global && !key.mesh.empty()) {
    return invalid(absl::StrCat("resource ", describeKey(type.name, key),
                                ": mesh must be empty for a global type"));
  }
  return absl::OkStatus();
}

absl::Status validateForWrite(const model::Resource& resource) {
  if (resource.descriptor == nullptr) {
    return invalid("resource has no type descriptor");
  }
  if (resource.spec == nullptr) {
    return invalid(absl::StrCat(
        "resource ", describeKey(resource.descriptor->name, keyOf(resource)), " has no spec"));
  }
  return validateKey(*resource.descriptor, keyOf(resource));
}

bool matchesListOptions(const model::Resource& resource, const ListOptions& options) {
  if (!options.mesh.empty() && resource.meta.mesh != options.mesh) {
    return false;
  }
  if (!options.nameContains.empty() &&
      resource.meta.name.find(options.nameContains) == std::string::npos) {
    return false;
  }
  for (const auto& [key, value] : options.labels) {
    auto it = resource.meta.labels.find(key);
    if (it == resource.meta.labels.end() || it->second != value) {
      return false;
    }
  }
  return !options.predicate || options.predicate(resource);
}

ResourceList applyListOptions(std::vector<model::ResourceConstSharedPtr> candidates,
                              const ListOptions& options) {
  std::erase_if(candidates, [&](const model::ResourceConstSharedPtr& r) {
    return r == nullptr || !matchesListOptions(*r, options);
  });
  std::sort(candidates.begin(), candidates.end(),
            [](const model::ResourceConstSharedPtr& a, const model::ResourceConstSharedPtr& b) {
              return std::tie(a->meta.mesh, a->meta.name) < std::tie(b->meta.mesh, b->meta.name);
            });
  ResourceList out;
  out.total = candidates.size();
  const size_t begin = std::min(options.offset, candidates.size());
  size_t end = candidates.size();
  if (options.pageSize > 0 && options.pageSize < end - begin) {
    end = begin + options.pageSize;
  }
  out.items.assign(std::make_move_iterator(candidates.begin() + static_cast<std::ptrdiff_t>(begin)),
                   std::make_move_iterator(candidates.begin() + static_cast<std::ptrdiff_t>(end)));
  if (end < candidates.size()) {
    out.nextOffset = end;
  }
  return out;
}

}  // namespace kuma::store
