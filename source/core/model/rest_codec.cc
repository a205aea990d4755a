#include "source/core/model/rest_codec.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kuma::model {
namespace {

const std::string& labelOr(const Resource& r, const std::string& key) {
  static const std::string kEmpty;
  auto it = r.meta.labels.find(key);
  return it == r.meta.labels.end() ? kEmpty : it->second;
}

/** Kuma's model.GetDisplayName: the kuma.io/display-name label when set, else the name. */
const std::string& displayName(const Resource& r) {
  const std::string& label = labelOr(r, "kuma.io/display-name");
  return label.empty() ? r.meta.name : label;
}

// Kuma's REST answer lists the SNIs of the destinations whose KRI renders as one
// (sni.SectionLister: MeshService and MeshMultiZoneService per port, by name or number;
// MeshExternalService for its match port): sni.<short>.<mesh>[.<zone>].<name>.<section>.
nlohmann::ordered_json snisOf(const Resource& resource, const nlohmann::ordered_json& object) {
  const std::string& shortName = resource.descriptor->shortName;
  const bool ports = shortName == "msvc" || shortName == "mzsvc";
  if (!ports && shortName != "extsvc") {
    return nlohmann::ordered_json::array();
  }
  const std::string zone = labelOr(resource, "kuma.io/zone");
  const std::string prefix =
      absl::StrCat("sni.", shortName, ".", resource.meta.mesh, zone.empty() ? "" : ".", zone, ".",
                   displayName(resource), ".");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const auto add = [&](const nlohmann::ordered_json& port, const std::string& section) {
    out.push_back({{"port", port}, {"sni", absl::StrCat(prefix, section)}});
  };
  auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) {
    return out;
  }
  if (ports) {
    auto list = spec->find("ports");
    if (list == spec->end() || !list->is_array()) {
      return out;
    }
    for (const auto& port : *list) {
      auto number = port.find("port");
      if (number == port.end() || !number->is_number_integer()) {
        continue;
      }
      auto name = port.find("name");
      add(*number, name != port.end() && name->is_string()
                       ? name->get<std::string>()
                       : std::to_string(number->get<int64_t>()));
    }
  } else if (auto match = spec->find("match"); match != spec->end() && match->is_object()) {
    if (auto number = match->find("port"); number != match->end() && number->is_number_integer()) {
      add(*number, std::to_string(number->get<int64_t>()));
    }
  }
  return out;
}

}  // namespace

std::string formatTime(absl::Time t) {
  if (t == absl::UnixEpoch()) {
    return "0001-01-01T00:00:00Z";
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string kriOf(const Resource& resource) {
  const ResourceTypeDescriptor& d = *resource.descriptor;
  if (d.shortName.empty()) {
    return "";
  }
  return absl::StrCat("kri_", d.shortName, "_", resource.meta.mesh, "_",
                      labelOr(resource, "kuma.io/zone"), "_",
                      labelOr(resource, "k8s.kuma.io/namespace"), "_", displayName(resource), "_");
}

nlohmann::ordered_json toRestJson(const Resource& resource) {
  const ResourceTypeDescriptor& d = *resource.descriptor;
  nlohmann::ordered_json out;
  out["type"] = d.name;
  if (d.scope == Scope::Mesh) {
    out["mesh"] = resource.meta.mesh;
  }
  out["name"] = resource.meta.name;
  out["creationTime"] = formatTime(resource.meta.creationTime);
  out["modificationTime"] = formatTime(resource.meta.modificationTime);
  if (!resource.meta.labels.empty()) {
    out["labels"] = resource.meta.labels;
  }
  if (std::string kri = kriOf(resource); !kri.empty()) {
    out["kri"] = std::move(kri);
  }
  if (resource.spec == nullptr) {
    return out;
  }
  nlohmann::ordered_json spec = resource.spec->toJson();
  if (nlohmann::ordered_json snis = snisOf(resource, spec); !snis.empty()) {
    out["snis"] = std::move(snis);
  }
  if (d.format == SpecFormat::SpecStatus && !spec.contains("spec")) {
    out["spec"] = nlohmann::ordered_json::object();
  }
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    out[it.key()] = it.value();
  }
  return out;
}

absl::StatusOr<RestBody> fromRestJson(const ResourceTypeDescriptor& descriptor,
                                      const nlohmann::json& body) {
  if (!body.is_object()) {
    return absl::InvalidArgumentError("resource must be a JSON or YAML object");
  }
  RestBody out;
  auto readString = [&](const char* key, std::string& into) -> absl::Status {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
      return absl::OkStatus();
    }
    if (!it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("field \"", key, "\" must be a string"));
    }
    into = it->get<std::string>();
    return absl::OkStatus();
  };
  for (auto [key, into] :
       {std::pair{"type", &out.type}, std::pair{"name", &out.name}, std::pair{"mesh", &out.mesh}}) {
    if (absl::Status s = readString(key, *into); !s.ok()) {
      return s;
    }
  }
  out.resource.descriptor = &descriptor;
  out.resource.meta.name = out.name;
  out.resource.meta.mesh = out.mesh;
  if (auto it = body.find("labels"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("field \"labels\" must be an object of strings");
    }
    for (auto l = it->begin(); l != it->end(); ++l) {
      if (!l.value().is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("label \"", l.key(), "\" must have a string value"));
      }
      out.resource.meta.labels[l.key()] = l.value().get<std::string>();
    }
  }
  // A `status` is written by the control plane's own controllers, never through REST: Kuma
  // drops the one a PUT carries.
  absl::StatusOr<SpecConstSharedPtr> spec;
  if (descriptor.format == SpecFormat::SpecStatus && body.contains("status")) {
    nlohmann::json withoutStatus = body;
    withoutStatus.erase("status");
    spec = descriptor.parseSpec(withoutStatus);
  } else {
    spec = descriptor.parseSpec(body);
  }
  if (!spec.ok()) {
    return spec.status();
  }
  out.resource.spec = std::move(*spec);
  return out;
}

}  // namespace kuma::model
