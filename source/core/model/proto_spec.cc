#include "source/core/model/proto_spec.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "source/common/go_duration.h"

namespace kuma::model {

nlohmann::ordered_json protoToJson(const google::protobuf::Message& message) {
  // Map (and Struct) entries are printed in key order, as Go's protojson does: protobuf's own
  // MessageToJsonString follows hash-map order, which differs between equal messages. So we
  // serialize deterministically (sorted map keys) and convert the binary form to JSON.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (void)message.SerializeToCodedStream(&coded);
  }
  constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
  const google::protobuf::DescriptorPool* pool = message.GetDescriptor()->file()->pool();
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix, pool));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  options.always_print_primitive_fields = false;
  std::string out;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver.get(), std::string(kTypeUrlPrefix) + "/" + message.GetDescriptor()->full_name(),
      binary, &out, options);
  if (!status.ok()) {
    // Not expected for a well-formed message; fall back to protobuf's direct printer.
    out.clear();
    (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  }
  return nlohmann::ordered_json::parse(out);
}

namespace {

// The proto JSON text of a Duration ("-1.500000000s").
std::string protoDurationText(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  const uint64_t magnitude = ns < 0 ? -static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out = ns < 0 ? "-" : "";
  out += std::to_string(magnitude / 1000000000ULL);
  if (const uint64_t frac = magnitude % 1000000000ULL; frac != 0) {
    std::string digits = std::to_string(frac);
    out += "." + std::string(9 - digits.size(), '0') + digits;
  }
  return out + "s";
}

// Kuma reads proto specs with github.com/golang/protobuf's jsonpb, which parses a Duration with
// Go's time.ParseDuration ("200ms", "1m30s", "0.2s"): such strings become proto JSON durations
// here, for every Duration field at any depth (other strings are left to the proto parser).
void normalizeDurations(nlohmann::json& json, const google::protobuf::Descriptor& descriptor,
                        int depth) {
  if (!json.is_object() || depth > 64) {
    return;
  }
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor.field(i);
    const google::protobuf::Descriptor* type = field->message_type();
    if (type == nullptr) {
      continue;
    }
    for (const std::string& key : {std::string(field->json_name()), std::string(field->name())}) {
      auto it = json.find(key);
      if (it == json.end()) {
        continue;
      }
      const auto visit = [&](nlohmann::json& value) {
        if (type->full_name() == "google.protobuf.Duration") {
          if (value.is_string()) {
            if (auto d = common::parseGoDuration(value.get<std::string>()); d.ok()) {
              value = protoDurationText(*d);
            }
          }
        } else if (!field->is_map() && type->file()->package() != "google.protobuf") {
          normalizeDurations(value, *type, depth + 1);
        }
      };
      if (field->is_map()) {
        const google::protobuf::FieldDescriptor* mapped = type->map_value();
        if (mapped->message_type() != nullptr && it->is_object() &&
            mapped->message_type()->file()->package() != "google.protobuf") {
          for (auto& [k, v] : it->items()) {
            normalizeDurations(v, *mapped->message_type(), depth + 1);
          }
        }
      } else if (field->is_repeated() && it->is_array()) {
        for (auto& v : *it) {
          visit(v);
        }
      } else {
        visit(*it);
      }
    }
  }
}

// Go's encoding/json name of a JSON value's kind ("number", "bool", "object", "array").
const char* goJsonKind(const nlohmann::json& value) {
  return value.is_number()    ? "number"
         : value.is_boolean() ? "bool"
         : value.is_object()  ? "object"
                              : "array";
}

// Kuma's jsonpb reads a string field with encoding/json: another kind of value fails with
// "json: cannot unmarshal <kind> into Go value of type string". The first such value, if any.
std::optional<std::string> stringFieldMismatch(const nlohmann::json& json,
                                               const google::protobuf::Descriptor& descriptor,
                                               int depth) {
  if (!json.is_object() || depth > 64) {
    return std::nullopt;
  }
  const auto check = [&](const google::protobuf::FieldDescriptor& field,
                         const nlohmann::json& value) -> std::optional<std::string> {
    if (value.is_null()) {
      return std::nullopt;
    }
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_STRING && !value.is_string()) {
      return absl::StrCat("json: cannot unmarshal ", goJsonKind(value),
                          " into Go value of type string");
    }
    const google::protobuf::Descriptor* type = field.message_type();
    if (type != nullptr && type->file()->package() != "google.protobuf") {
      return stringFieldMismatch(value, *type, depth + 1);
    }
    return std::nullopt;
  };
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor.field(i);
    for (const std::string& key : {std::string(field->json_name()), std::string(field->name())}) {
      auto it = json.find(key);
      if (it == json.end()) {
        continue;
      }
      std::optional<std::string> found;
      if (field->is_map()) {
        if (it->is_object()) {
          for (const auto& [k, v] : it->items()) {
            if (!found) {
              found = check(*field->message_type()->map_value(), v);
            }
          }
        }
      } else if (field->is_repeated()) {
        if (it->is_array()) {
          for (const auto& v : *it) {
            if (!found) {
              found = check(*field, v);
            }
          }
        }
      } else {
        found = check(*field, *it);
      }
      if (found) {
        return found;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status protoFromJson(const nlohmann::json& input, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  nlohmann::json json = input;
  normalizeDurations(json, *message.GetDescriptor(), 0);
  std::string text;
  try {
    text = json.dump();
  } catch (const nlohmann::json::exception& e) {
    // A string that is not UTF-8 (nothing else makes dump() throw).
    return absl::InvalidArgumentError(e.what());
  }
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    if (auto mismatch = stringFieldMismatch(json, *message.GetDescriptor(), 0)) {
      return absl::InvalidArgumentError(*mismatch);  // Kuma's (Go's) wording
    }
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  return absl::OkStatus();
}

}  // namespace kuma::model
