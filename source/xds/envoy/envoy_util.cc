#include "source/xds/envoy/envoy_util.h"

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "openssl/sha.h"

// Linked so that the core messages used inside hand-composed extension types are in the
// generated pool.
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"

namespace kuma::xds {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";

// Extension types missing from the prebuilt Envoy API library, declared for reflection and JSON.
// Field numbers are those of envoy/extensions/upstreams/http/v3/http_protocol_options.proto.
constexpr char kExtraProtos[] = R"pb(
  name: "kuma/xds/extra/http_protocol_options.proto"
  package: "envoy.extensions.upstreams.http.v3"
  dependency: "envoy/config/core/v3/protocol.proto"
  syntax: "proto3"
  message_type {
    name: "HttpProtocolOptions"
    field {
      name: "common_http_protocol_options"
      number: 1
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".envoy.config.core.v3.HttpProtocolOptions"
      json_name: "commonHttpProtocolOptions"
    }
    field {
      name: "explicit_http_config"
      number: 3
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig"
      json_name: "explicitHttpConfig"
    }
    nested_type {
      name: "ExplicitHttpConfig"
      field {
        name: "http_protocol_options"
        number: 1
        label: LABEL_OPTIONAL
        type: TYPE_MESSAGE
        type_name: ".envoy.config.core.v3.Http1ProtocolOptions"
        json_name: "httpProtocolOptions"
      }
      field {
        name: "http2_protocol_options"
        number: 2
        label: LABEL_OPTIONAL
        type: TYPE_MESSAGE
        type_name: ".envoy.config.core.v3.Http2ProtocolOptions"
        json_name: "http2ProtocolOptions"
      }
    }
  }
)pb";

void appendLengthDelimited(std::string& out, uint32_t field, const std::string& bytes) {
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag((field << 3) | 2);
  coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
  coded.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

std::string serializeDeterministic(const google::protobuf::Message& message) {
  // Sized up front: a StringOutputStream grows the string by doubling and never gives the slack
  // back, and these bytes live as long as every snapshot holding the resource (up to twice the
  // payload per resource). ByteSizeLong() also caches the sizes the serializer needs.
  const size_t size = message.ByteSizeLong();
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream stream(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeWithCachedSizes(&coded);
  return out;
}

}  // namespace

uint64_t hashOf(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hashHex(uint64_t hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[hash & 0xf];
    hash >>= 4;
  }
  return out;
}

ResourceConstSharedPtr makeResource(std::string name, const google::protobuf::Message& message) {
  auto resource = std::make_shared<Resource>();
  resource->name = std::move(name);
  resource->serialized = serializeDeterministic(message);
  resource->hash = hashOf(resource->serialized);
  return resource;
}

std::string sanitizeMetric(std::string_view name) {
  // Kuma's illegal characters: everything but [a-zA-Z_\-0-9] (dots break statsd → Prometheus).
  std::string out(name);
  for (char& c : out) {
    const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-';
    if (!legal) {
      c = '_';
    }
  }
  return out;
}

bool isIPv6(std::string_view ip) {
  return ip.find(':') != std::string_view::npos;
}

std::string kumaDpSocketPath(const std::string& dir, const std::string& base) {
  std::string path = base;
  if (!dir.empty()) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') {
      d.pop_back();
    }
    path = d == "/" ? absl::StrCat("/", base) : absl::StrCat(d, "/", base);
  }
  if (path.size() > 98) {
    path.resize(98);
  }
  return absl::StrCat(path, ".sock");
}

std::string hostPort(std::string_view ip, uint32_t port) {
  if (isIPv6(ip)) {
    return absl::StrCat("[", std::string(ip), "]:", port);
  }
  return absl::StrCat(std::string(ip), ":", port);
}

std::string outboundClusterName(const std::string& service,
                                const std::map<std::string, std::string>& tags) {
  std::string material;
  bool extra = false;
  for (const auto& [k, v] : tags) {  // std::map: already sorted by key
    if (k == "kuma.io/service") {
      continue;
    }
    extra = true;
    material += k;
    material += '=';
    material += v;
    material += ',';
  }
  if (!extra) {
    return service;
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 8; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xf];
  }
  return absl::StrCat(service, "-", hex);
}

google::protobuf::Any packAny(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.set_type_url(absl::StrCat(kTypePrefix, message.GetDescriptor()->full_name()));
  any.set_value(serializeDeterministic(message));
  return any;
}

google::protobuf::Any httpProtocolOptionsAny(bool http2, const google::protobuf::Message* common) {
  // ExplicitHttpConfig { http_protocol_options = 1 | http2_protocol_options = 2 }, both empty.
  std::string explicitConfig;
  appendLengthDelimited(explicitConfig, http2 ? 2 : 1, std::string());
  std::string value;
  if (common != nullptr) {
    appendLengthDelimited(value, 1, serializeDeterministic(*common));
  }
  appendLengthDelimited(value, 3, explicitConfig);
  google::protobuf::Any any;
  any.set_type_url(kHttpProtocolOptionsType);
  any.set_value(std::move(value));
  return any;
}

absl::Status setCommonHttpProtocolOptions(google::protobuf::Any& any,
                                          const google::protobuf::Message& common) {
  if (any.type_url() != kHttpProtocolOptionsType) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an upstream HttpProtocolOptions: ", any.type_url()));
  }
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(any.value())) {
    return absl::InvalidArgumentError("upstream HttpProtocolOptions bytes do not parse");
  }
  // Field 1 first, then the others in their order: the layout httpProtocolOptionsAny() writes.
  std::string value;
  appendLengthDelimited(value, 1, serializeDeterministic(common));
  google::protobuf::UnknownFieldSet rest;
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() != 1) {
      rest.AddField(fields.field(i));
    }
  }
  std::string tail;
  if (!rest.SerializeToString(&tail)) {
    return absl::InternalError("cannot serialize upstream HttpProtocolOptions");
  }
  any.set_value(value + tail);
  return absl::OkStatus();
}

namespace {

// The TLS inspector listener filter (PERMISSIVE mTLS inbounds): an empty config message,
// also missing from the prebuilt library.
constexpr char kTlsInspectorProto[] = R"pb(
  name: "kuma/xds/extra/tls_inspector.proto"
  package: "envoy.extensions.filters.listener.tls_inspector.v3"
  syntax: "proto3"
  message_type { name: "TlsInspector" }
)pb";

// Extension configs of the resilience policies, also missing from the prebuilt library: the
// health-check event file sink (MeshHealthCheck `eventLogPath`) and MeshRetry's host selection
// predicates and retry priority. The plugins write their bytes by hand; these descriptors let
// them be rendered as JSON (inspect API, tests).
constexpr const char* kPolicyExtensionProtos[] = {
    // The HTTP inspector listener filter (MeshPassthrough's outbound passthrough listener).
    R"pb(
      name: "kuma/xds/extra/http_inspector.proto"
      package: "envoy.extensions.filters.listener.http_inspector.v3"
      syntax: "proto3"
      message_type { name: "HttpInspector" }
    )pb",
    R"pb(
      name: "kuma/xds/extra/health_check_event_file_sink.proto"
      package: "envoy.extensions.health_check.event_sinks.file.v3"
      syntax: "proto3"
      message_type {
        name: "HealthCheckEventFileSink"
        field {
          name: "event_log_path"
          number: 1
          label: LABEL_OPTIONAL
          type: TYPE_STRING
          json_name: "eventLogPath"
        }
      }
    )pb",
    R"pb(
      name: "kuma/xds/extra/previous_hosts.proto"
      package: "envoy.extensions.retry.host.previous_hosts.v3"
      syntax: "proto3"
      message_type { name: "PreviousHostsPredicate" }
    )pb",
    R"pb(
      name: "kuma/xds/extra/omit_host_metadata.proto"
      package: "envoy.extensions.retry.host.omit_host_metadata.v3"
      dependency: "envoy/config/core/v3/base.proto"
      syntax: "proto3"
      message_type {
        name: "OmitHostMetadataConfig"
        field {
          name: "metadata_match"
          number: 1
          label: LABEL_OPTIONAL
          type: TYPE_MESSAGE
          type_name: ".envoy.config.core.v3.Metadata"
          json_name: "metadataMatch"
        }
      }
    )pb",
    R"pb(
      name: "kuma/xds/extra/previous_priorities.proto"
      package: "envoy.extensions.retry.priority.previous_priorities.v3"
      syntax: "proto3"
      message_type {
        name: "PreviousPrioritiesConfig"
        field {
          name: "update_frequency"
          number: 1
          label: LABEL_OPTIONAL
          type: TYPE_INT32
          json_name: "updateFrequency"
        }
      }
    )pb",
};

}  // namespace

const google::protobuf::DescriptorPool& envoyDescriptorPool() {
  static const google::protobuf::DescriptorPool* pool = [] {
    // Make sure the dependency is registered in the generated pool before cross-linking.
    envoy::config::core::v3::HttpProtocolOptions::descriptor();
    envoy::config::core::v3::Metadata::descriptor();
    auto* p =
        new google::protobuf::DescriptorPool(google::protobuf::DescriptorPool::generated_pool());
    google::protobuf::FileDescriptorProto file;
    if (google::protobuf::TextFormat::ParseFromString(kExtraProtos, &file)) {
      p->BuildFile(file);
    }
    google::protobuf::FileDescriptorProto tlsInspector;
    if (google::protobuf::TextFormat::ParseFromString(kTlsInspectorProto, &tlsInspector)) {
      p->BuildFile(tlsInspector);
    }
    for (const char* text : kPolicyExtensionProtos) {
      google::protobuf::FileDescriptorProto extension;
      if (google::protobuf::TextFormat::ParseFromString(text, &extension)) {
        p->BuildFile(extension);
      }
    }
    return p;
  }();
  return *pool;
}

absl::StatusOr<std::string> resourceToJson(std::string_view typeUrl, std::string_view serialized) {
  static google::protobuf::util::TypeResolver* resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                               &envoyDescriptorPool());
  std::string_view name = typeUrl;
  if (name.rfind(kTypePrefix, 0) == 0) {
    name.remove_prefix(sizeof(kTypePrefix) - 1);
  }
  const google::protobuf::Descriptor* descriptor =
      envoyDescriptorPool().FindMessageTypeByName(std::string(name));
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown resource type ", std::string(typeUrl)));
  }
  {
    // The JSON converter tolerates truncated input: parse first to reject malformed bytes.
    google::protobuf::DynamicMessageFactory factory(&envoyDescriptorPool());
    factory.SetDelegateToGeneratedFactory(true);
    std::unique_ptr<google::protobuf::Message> message(factory.GetPrototype(descriptor)->New());
    if (!message->ParseFromString(std::string(serialized))) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed ", std::string(name), " (", serialized.size(), " bytes)"));
    }
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  auto status = google::protobuf::util::BinaryToJsonString(
      resolver, absl::StrCat(kTypePrefix, std::string(name)), std::string(serialized), &json,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  return json;
}

}  // namespace kuma::xds
