#include "source/xds/envoy/resource_set.h"

#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {

void ResourceSet::add(const std::string& typeUrl, std::string name,
                      std::unique_ptr<google::protobuf::Message> message) {
  Entry& e = types_[typeUrl][std::move(name)];
  e.message = std::move(message);
  e.shared = nullptr;
}

void ResourceSet::addShared(const std::string& typeUrl, ResourceConstSharedPtr resource) {
  Entry& e = types_[typeUrl][resource->name];
  e.message = nullptr;
  e.shared = std::move(resource);
}

bool ResourceSet::contains(const std::string& typeUrl, const std::string& name) const {
  auto t = types_.find(typeUrl);
  return t != types_.end() && t->second.contains(name);
}

bool ResourceSet::remove(const std::string& typeUrl, const std::string& name) {
  auto t = types_.find(typeUrl);
  return t != types_.end() && t->second.erase(name) > 0;
}

std::vector<std::string> ResourceSet::names(const std::string& typeUrl) const {
  std::vector<std::string> out;
  if (auto t = types_.find(typeUrl); t != types_.end()) {
    out.reserve(t->second.size());
    for (const auto& [name, entry] : t->second) {
      out.push_back(name);
    }
  }
  return out;
}

google::protobuf::Message* ResourceSet::mutableMessage(const std::string& typeUrl,
                                                       const std::string& name,
                                                       const google::protobuf::Message& prototype) {
  auto t = types_.find(typeUrl);
  if (t == types_.end()) {
    return nullptr;
  }
  auto e = t->second.find(name);
  if (e == t->second.end()) {
    return nullptr;
  }
  Entry& entry = e->second;
  if (entry.message == nullptr) {
    std::unique_ptr<google::protobuf::Message> copy(prototype.New());
    if (!copy->ParseFromString(entry.shared->serialized)) {
      return nullptr;  // bytes of another type: not the resource asked for
    }
    entry.message = std::move(copy);
    entry.shared = nullptr;
  }
  return entry.message.get();
}

ResourceSet::Types ResourceSet::finalize() {
  Types out;
  for (auto& [typeUrl, entries] : types_) {
    auto& bucket = out[typeUrl];
    for (auto& [name, entry] : entries) {
      bucket.emplace(name, entry.message != nullptr ? makeResource(name, *entry.message)
                                                    : std::move(entry.shared));
    }
  }
  types_.clear();
  return out;
}

}  // namespace kuma::xds
