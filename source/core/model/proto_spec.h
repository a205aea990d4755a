#pragma once

// File: proto_spec.h
// Spec implementation for Kuma's proto-based types (Mesh, Dataplane, Secret, legacy policies):
// the spec is a protobuf message; REST JSON is jsonpb exactly as Kuma writes it (lowerCamelCase,
// zero values omitted, enums by name, 64-bit ints as strings, Duration as "1.500s") and reads it
// (both field-name spellings accepted, unknown fields ignored).

#include <memory>
#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kuma/model/resource.h"

namespace kuma::model {

/** jsonpb encoding of a message, as an ordered JSON object. */
nlohmann::ordered_json protoToJson(const google::protobuf::Message& message);

/** jsonpb decoding into `message`. Errors: InvalidArgument with the parser's reason. */
absl::Status protoFromJson(const nlohmann::json& json, google::protobuf::Message& message);

template <typename T>
class ProtoSpec final : public Spec {
 public:
  explicit ProtoSpec(T message) : message_(std::move(message)) {}

  const T& message() const { return message_; }

  // kuma::model::Spec
  nlohmann::ordered_json toJson() const override { return protoToJson(message_); }
  std::string canonicalBytes() const override {
    std::string out;
    {
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);  // map entries in key order
      message_.SerializePartialToCodedStream(&coded);
    }
    return out;
  }
  bool equals(const Spec& other) const override {
    const auto* o = dynamic_cast<const ProtoSpec<T>*>(&other);
    return o != nullptr &&
           google::protobuf::util::MessageDifferencer::Equals(message_, o->message_);
  }

  /** A descriptor parseSpec for this type. */
  static absl::StatusOr<SpecConstSharedPtr> parse(const nlohmann::json& object) {
    T message;
    absl::Status status = protoFromJson(object, message);
    if (!status.ok()) {
      return status;
    }
    return std::make_shared<const ProtoSpec<T>>(std::move(message));
  }
  static SpecConstSharedPtr empty() { return std::make_shared<const ProtoSpec<T>>(T()); }

 private:
  const T message_;
};

/** The typed message of a resource whose spec is a ProtoSpec<T>; nullptr otherwise. */
template <typename T>
const T* protoSpecOf(const Resource& resource) {
  const auto* spec = dynamic_cast<const ProtoSpec<T>*>(resource.spec.get());
  return spec == nullptr ? nullptr : &spec->message();
}

}  // namespace kuma::model
