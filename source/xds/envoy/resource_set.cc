#include "source/xds/envoy/resource_set.h"

#include <algorithm>

#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {

void ResourceSet::add(const std::string& typeUrl, std::string name,
                      std::unique_ptr<google::protobuf::Message> message) {
  if (auto t = editing_.find(typeUrl); t != editing_.end()) {
    t->second.erase(name);
  }
  if (auto t = shared_.find(typeUrl); t != shared_.end()) {
    t->second.erase(name);
  }
  ResourceConstSharedPtr r = makeResource(name, *message);
  finished_[typeUrl].insert_or_assign(std::move(name), std::move(r));
}

void ResourceSet::addShared(const std::string& typeUrl, ResourceConstSharedPtr resource) {
  if (auto t = editing_.find(typeUrl); t != editing_.end()) {
    t->second.erase(resource->name);
  }
  auto& bucket = finished_[typeUrl];
  const std::string& name = resource->name;
  shared_[typeUrl].insert(name);
  bucket.insert_or_assign(name, std::move(resource));
}

bool ResourceSet::contains(const std::string& typeUrl, const std::string& name) const {
  auto f = finished_.find(typeUrl);
  if (f != finished_.end() && f->second.contains(name)) {
    return true;
  }
  auto e = editing_.find(typeUrl);
  return e != editing_.end() && e->second.contains(name);
}

bool ResourceSet::isShared(const std::string& typeUrl, const std::string& name) const {
  auto s = shared_.find(typeUrl);
  return s != shared_.end() && s->second.contains(name);
}

bool ResourceSet::remove(const std::string& typeUrl, const std::string& name) {
  if (auto s = shared_.find(typeUrl); s != shared_.end()) {
    s->second.erase(name);
  }
  size_t removed = 0;
  if (auto f = finished_.find(typeUrl); f != finished_.end()) {
    removed += f->second.erase(name);
  }
  if (auto e = editing_.find(typeUrl); e != editing_.end()) {
    removed += e->second.erase(name);
  }
  return removed > 0;
}

void ResourceSet::clear() {
  finished_.clear();
  editing_.clear();
  shared_.clear();
}

std::vector<std::string> ResourceSet::names(const std::string& typeUrl) const {
  std::vector<std::string> out;
  if (auto f = finished_.find(typeUrl); f != finished_.end()) {
    for (const auto& [name, resource] : f->second) {
      out.push_back(name);
    }
  }
  if (auto e = editing_.find(typeUrl); e != editing_.end()) {
    for (const auto& [name, message] : e->second) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

google::protobuf::Message* ResourceSet::mutableMessage(const std::string& typeUrl,
                                                       const std::string& name,
                                                       const google::protobuf::Message& prototype) {
  if (auto e = editing_.find(typeUrl); e != editing_.end()) {
    if (auto m = e->second.find(name); m != e->second.end()) {
      return m->second.get();
    }
  }
  auto f = finished_.find(typeUrl);
  if (f == finished_.end()) {
    return nullptr;
  }
  auto r = f->second.find(name);
  if (r == f->second.end()) {
    return nullptr;
  }
  std::unique_ptr<google::protobuf::Message> copy(prototype.New());
  if (!copy->ParseFromString(r->second->serialized)) {
    return nullptr;  // bytes of another type: not the resource asked for
  }
  f->second.erase(r);
  if (auto s = shared_.find(typeUrl); s != shared_.end()) {
    s->second.erase(name);
  }
  auto& slot = editing_[typeUrl][name];
  slot = std::move(copy);
  return slot.get();
}

ResourceSet::Types ResourceSet::finalize() {
  for (auto& [typeUrl, messages] : editing_) {
    auto& bucket = finished_[typeUrl];
    for (auto& [name, message] : messages) {
      bucket.insert_or_assign(name, makeResource(name, *message));
    }
  }
  editing_.clear();
  shared_.clear();
  std::erase_if(finished_, [](const auto& type) { return type.second.empty(); });
  Types out = std::move(finished_);
  finished_.clear();
  return out;
}

}  // namespace kuma::xds
