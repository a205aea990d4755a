#include "source/core/model/proto_spec.h"

#include <memory>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"

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

absl::Status protoFromJson(const nlohmann::json& json, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string text;
  try {
    text = json.dump();
  } catch (const nlohmann::json::exception& e) {
    // A string that is not UTF-8 (nothing else makes dump() throw).
    return absl::InvalidArgumentError(e.what());
  }
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  return absl::OkStatus();
}

}  // namespace kuma::model
