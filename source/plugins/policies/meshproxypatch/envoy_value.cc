#include "source/plugins/policies/meshproxypatch/envoy_value.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/listener/v3/listener_components.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/generated_message_reflection.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "source/common/go_duration.h"
#include "source/common/json_yaml.h"
#include "source/common/status_macros.h"
#include "source/xds/envoy/envoy_util.h"

// The descriptor tables of the compiled Envoy API protos (kEnvoyDescriptorTables).
#include "envoy_descriptors.inc"

namespace kuma::policies::meshproxypatch {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using json = nlohmann::json;

// Serializes without throwing: keys or strings with invalid UTF-8 (a patch path can make one
// out of a multi-byte character's tail) become U+FFFD instead of a type_error.
std::string dumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::Status invalid(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

// A status's message as a string (protobuf's and absl's string views differ here).
template <class S>
std::string messageOf(const S& status) {
  return std::string(status.message().data(), status.message().size());
}

// How many Envoy proto files are linked in: reading the table through a volatile pointer keeps
// it, and so every file it names, in the binary.
size_t linkedEnvoyFiles() {
  const void* const* volatile tables = kEnvoyDescriptorTables;
  size_t n = 0;
  for (size_t i = 0; i < std::size(kEnvoyDescriptorTables); ++i) {
    n += tables[i] != nullptr ? 1 : 0;
  }
  return n;
}

// The message type named by an Any type URL, from the descriptors linked into the binary.
const Descriptor* typeOfUrl(std::string_view url) {
  static const size_t linked = linkedEnvoyFiles();
  (void)linked;
  const size_t slash = url.rfind('/');
  const std::string name(slash == std::string_view::npos ? url : url.substr(slash + 1));
  return xds::envoyDescriptorPool().FindMessageTypeByName(name);
}

// Messages of the Envoy pool: generated ones, and dynamic ones for the types kuma-cpp declares
// itself (the upstream HttpProtocolOptions).
std::unique_ptr<Message> newOfType(const Descriptor* d) {
  static google::protobuf::DynamicMessageFactory* factory = [] {
    auto* f = new google::protobuf::DynamicMessageFactory(&xds::envoyDescriptorPool());
    f->SetDelegateToGeneratedFactory(true);
    return f;
  }();
  const Message* proto = factory->GetPrototype(d);
  return proto == nullptr ? nullptr : std::unique_ptr<Message>(proto->New());
}

google::protobuf::util::TypeResolver& resolver() {
  static google::protobuf::util::TypeResolver* r =
      google::protobuf::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                               &xds::envoyDescriptorPool());
  return *r;
}

std::string typeUrlOf(const Message& message) {
  return absl::StrCat("type.googleapis.com/", message.GetDescriptor()->full_name());
}

// Kuma's FromJSON resolves every `@type` first: an unknown one is its own error.
absl::Status checkTypeUrls(const json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it.key() == "@type" && it.value().is_string() &&
          typeOfUrl(it.value().get_ref<const std::string&>()) == nullptr) {
        return invalid(absl::StrCat("could not resolve Any message type: ",
                                    it.value().get_ref<const std::string&>()));
      }
      if (absl::Status s = checkTypeUrls(it.value()); !s.ok()) {
        return s;
      }
    }
  } else if (value.is_array()) {
    for (const json& v : value) {
      if (absl::Status s = checkTypeUrls(v); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

// Kuma reads values with golang/protobuf's jsonpb, which differs from proto3 JSON in two ways
// that matter here: a Duration is any Go duration ("1m30s", "100ms"; "bad Duration: ..."
// otherwise), and an Any object needs its '@type' (a payload of another type is an error wrapped
// as "can't unmarshal Any nested proto <url>: ..."). jsonpbValue rewrites `value` (of message
// type `type`) in place into the proto3 JSON the parser takes, with jsonpb's errors.
constexpr int kMaxJsonpbDepth = 100;

absl::Status jsonpbValue(json& value, const Descriptor* type, int depth);

// jsonpb's wellKnownType(): the types an Any carries under "value".
bool jsonpbWellKnown(const Descriptor& type) {
  static const std::set<std::string, std::less<>> kNames = {
      "Empty",       "Any",        "BoolValue",  "BytesValue",  "StringValue", "Int32Value",
      "UInt32Value", "FloatValue", "Int64Value", "UInt64Value", "DoubleValue", "Duration",
      "Timestamp",   "NullValue",  "Struct",     "Value",       "ListValue"};
  return type.file()->package() == "google.protobuf" && kNames.contains(type.name());
}

absl::Status jsonpbMessage(json& object, const Descriptor* type, int depth) {
  if (!object.is_object()) {
    return absl::OkStatus();  // the parser reports it
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    const FieldDescriptor* field = type->FindFieldByName(it.key());
    for (int i = 0; field == nullptr && i < type->field_count(); ++i) {
      if (type->field(i)->json_name() == it.key()) {
        field = type->field(i);
      }
    }
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;  // unknown fields are allowed; scalars need nothing
    }
    json& v = it.value();
    if (field->is_map()) {
      const FieldDescriptor* mapValue = field->message_type()->map_value();
      if (v.is_object() && mapValue->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (auto& [key, item] : v.items()) {
          (void)key;
          KUMA_RETURN_IF_ERROR(jsonpbValue(item, mapValue->message_type(), depth + 1));
        }
      }
    } else if (field->is_repeated()) {
      if (v.is_array()) {
        for (json& item : v) {
          KUMA_RETURN_IF_ERROR(jsonpbValue(item, field->message_type(), depth + 1));
        }
      }
    } else {
      KUMA_RETURN_IF_ERROR(jsonpbValue(v, field->message_type(), depth + 1));
    }
  }
  return absl::OkStatus();
}

// Go's time.Duration of `text` as proto3 JSON ("-1.5s").
absl::StatusOr<std::string> protoDuration(std::string_view text) {
  auto d = common::parseGoDuration(text);
  if (!d.ok()) {
    return invalid(absl::StrCat("bad Duration: ", d.status().message()));
  }
  const int64_t ns = d->count();
  const uint64_t abs = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out = absl::StrCat(ns < 0 ? "-" : "", abs / 1000000000u);
  if (const uint64_t frac = abs % 1000000000u; frac != 0) {
    std::string digits = std::to_string(frac);
    absl::StrAppend(&out, ".", std::string(9 - digits.size(), '0'), digits);
  }
  return out + "s";
}

absl::Status jsonpbValue(json& value, const Descriptor* type, int depth) {
  if (depth > kMaxJsonpbDepth) {
    return invalid("the value is nested too deeply");
  }
  if (value.is_null()) {
    return absl::OkStatus();
  }
  const std::string& name = type->full_name();
  if (name == "google.protobuf.Duration") {
    if (value.is_string()) {
      KUMA_ASSIGN_OR_RETURN(std::string proto, protoDuration(value.get_ref<const std::string&>()));
      value = std::move(proto);
    }
    return absl::OkStatus();
  }
  if (name == "google.protobuf.Any") {
    if (!value.is_object()) {
      return absl::OkStatus();  // the parser reports it
    }
    auto typeUrl = value.find("@type");
    if (typeUrl == value.end()) {
      return invalid("Any JSON doesn't have '@type'");
    }
    if (!typeUrl->is_string()) {
      return invalid(absl::StrCat("can't unmarshal Any's '@type': ", typeUrl->dump()));
    }
    const std::string url = *typeUrl;
    const Descriptor* payload = typeOfUrl(url);
    if (payload == nullptr) {
      return invalid(absl::StrCat("could not resolve Any message type: ", url));
    }
    absl::Status nested;
    if (jsonpbWellKnown(*payload)) {  // under "value"
      auto inner = value.find("value");
      if (inner == value.end()) {
        return invalid("Any JSON doesn't have 'value'");
      }
      nested = jsonpbValue(*inner, payload, depth + 1);
    } else {
      nested = jsonpbMessage(value, payload, depth + 1);
    }
    if (!nested.ok()) {
      return invalid(
          absl::StrCat("can't unmarshal Any nested proto ", url, ": ", nested.message()));
    }
    return absl::OkStatus();
  }
  if (type->file()->package() == "google.protobuf") {
    return absl::OkStatus();  // Struct, Value, wrappers, Timestamp: as they are
  }
  return jsonpbMessage(value, type, depth + 1);
}

absl::Status fromJson(const json& value, Message& out) {
  if (!value.is_object()) {
    return invalid(absl::StrCat("the value must be an object (", out.GetDescriptor()->name(),
                                "), not ", value.type_name()));
  }
  json rewritten = value;
  KUMA_RETURN_IF_ERROR(jsonpbValue(rewritten, out.GetDescriptor(), 0));
  if (absl::Status s = checkTypeUrls(rewritten); !s.ok()) {
    return s;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // Kuma's unmarshaler allows unknown fields
  out.Clear();
  std::string binary;
  const auto status = google::protobuf::util::JsonToBinaryString(
      &resolver(), typeUrlOf(out), dumpJson(rewritten), &binary, options);
  if (!status.ok()) {
    return invalid(messageOf(status));
  }
  if (!out.ParseFromString(binary)) {
    return invalid(absl::StrCat("could not parse ", out.GetDescriptor()->full_name()));
  }
  return absl::OkStatus();
}

bool serializeDeterministic(const Message& message, std::string& out) {
  out.clear();
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  return message.SerializeToCodedStream(&coded);
}

absl::StatusOr<json> toJson(const Message& message) {
  std::string binary;
  serializeDeterministic(message, binary);
  std::string text;
  const auto status =
      google::protobuf::util::BinaryToJsonString(&resolver(), typeUrlOf(message), binary, &text);
  if (!status.ok()) {
    return absl::InternalError(messageOf(status));
  }
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// Clears in `dst` each Duration that `src` sets, at any depth of singular messages, so that the
// merge replaces it (Kuma's ReplaceMergeFn for google.protobuf.Duration).
void clearReplacedDurations(Message& dst, const Message& src) {
  const auto* srcRefl = src.GetReflection();
  const auto* dstRefl = dst.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  srcRefl->ListFields(src, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (f->message_type() == google::protobuf::Duration::descriptor()) {
      dstRefl->ClearField(&dst, f);
    } else if (dstRefl->HasField(dst, f)) {
      clearReplacedDurations(*dstRefl->MutableMessage(&dst, f), srcRefl->GetMessage(src, f));
    }
  }
}

// Splits a JSON pointer as evanphx's json-patch does: whatever precedes the first '/' is
// ignored, and a non-empty path without any '/' names nothing (nullopt).
std::optional<std::vector<std::string>> pointerTokens(const std::string& path) {
  std::vector<std::string> tokens;
  if (path.empty()) {
    return tokens;
  }
  const size_t first = path.find('/');
  if (first == std::string::npos) {
    return std::nullopt;
  }
  size_t start = first + 1;
  while (true) {
    const size_t slash = path.find('/', start);
    std::string token =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    // RFC 6901 unescaping: ~1 → /, then ~0 → ~.
    for (size_t p = 0; (p = token.find("~1", p)) != std::string::npos; ++p) {
      token.replace(p, 2, "/");
    }
    for (size_t p = 0; (p = token.find("~0", p)) != std::string::npos; ++p) {
      token.replace(p, 2, "~");
    }
    tokens.push_back(std::move(token));
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  return tokens;
}

std::string joinPointer(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) {
    out += '/';
    for (char c : t) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  }
  return out;
}

bool isIndex(const std::string& token) {
  return !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
}

// Resolves a path in `doc` as evanphx's json-patch does with Kuma's options: negative array
// indices from the end (rewritten into plain ones) and, when `create`, missing parent objects
// (or arrays, before an index) made on the way. Returns the rewritten pointer, or nullopt when
// a parent is missing and not created.
std::optional<std::string> resolvePath(json& doc, const std::string& path, bool create) {
  std::optional<std::vector<std::string>> split = pointerTokens(path);
  if (!split.has_value()) {
    return std::nullopt;
  }
  std::vector<std::string>& tokens = *split;
  json* node = &doc;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& t = tokens[i];
    const bool last = i + 1 == tokens.size();
    if (node->is_array()) {
      if (t.size() > 1 && t[0] == '-' && isIndex(t.substr(1))) {
        const long long back = std::stoll(t.substr(1).substr(0, 18));
        const long long index = static_cast<long long>(node->size()) - back;
        if (index < 0) {
          return std::nullopt;
        }
        t = std::to_string(index);
      }
      if (last) {
        break;
      }
      if (!isIndex(t) || t.size() > 18 || std::stoull(t) >= node->size()) {
        return std::nullopt;
      }
      node = &(*node)[std::stoull(t)];
    } else if (node->is_object()) {
      if (last) {
        break;
      }
      auto it = node->find(t);
      if (it == node->end()) {
        if (!create) {
          return std::nullopt;
        }
        const std::string& next = tokens[i + 1];
        (*node)[t] = (isIndex(next) || next == "-") ? json::array() : json::object();
        it = node->find(t);
      }
      node = &*it;
    } else {
      return std::nullopt;
    }
  }
  return joinPointer(tokens);
}

bool exists(const json& doc, const std::string& pointer) {
  try {
    return doc.contains(json::json_pointer(pointer));
  } catch (const json::exception&) {
    return false;
  }
}

absl::Status patchJson(const json& patches, json& doc) {
  if (!patches.is_array()) {
    return invalid("jsonPatches must be a list");
  }
  size_t copied = 0;
  for (const json& p : patches) {
    if (!p.is_object() || !p.contains("op") || !p["op"].is_string() || !p.contains("path") ||
        !p["path"].is_string()) {
      return invalid("failed to patch: a patch needs `op` and `path`");
    }
    const std::string op = p["op"].get<std::string>();
    json one = p;
    const bool create = op == "add" || op == "copy" || op == "move";
    std::optional<std::string> path = resolvePath(doc, p["path"].get<std::string>(), create);
    if (op == "remove" && (!path.has_value() || !exists(doc, *path))) {
      continue;  // AllowMissingPathOnRemove
    }
    if (!path.has_value()) {
      return invalid(absl::StrCat("failed to patch: apply json patches: path ",
                                  p["path"].get<std::string>(), " does not exist"));
    }
    one["path"] = *path;
    if (p.contains("from") && p["from"].is_string()) {
      std::optional<std::string> from = resolvePath(doc, p["from"].get<std::string>(), false);
      if (!from.has_value()) {
        return invalid(absl::StrCat("failed to patch: apply json patches: from ",
                                    p["from"].get<std::string>(), " does not exist"));
      }
      one["from"] = *from;
      if (op == "copy" && exists(doc, *from)) {
        copied += dumpJson(doc.at(json::json_pointer(*from))).size();
        if (copied > kMaxPatchedBytes) {
          return invalid("failed to patch: the patches copy more than the size limit");
        }
      }
    }
    try {
      doc = doc.patch(json::array({one}));
    } catch (const json::exception& e) {
      return invalid(absl::StrCat("failed to patch: apply json patches: ", e.what()));
    }
  }
  if (dumpJson(doc).size() > kMaxPatchedBytes) {
    return invalid("failed to patch: the patched resource is larger than the size limit");
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Message> newMessage(ValueKind kind) {
  switch (kind) {
    case ValueKind::Cluster:
      return std::make_unique<envoy::config::cluster::v3::Cluster>();
    case ValueKind::Listener:
      return std::make_unique<envoy::config::listener::v3::Listener>();
    case ValueKind::NetworkFilter:
      return std::make_unique<envoy::config::listener::v3::Filter>();
    case ValueKind::HttpFilter:
      return std::make_unique<
          envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter>();
    case ValueKind::VirtualHost:
      return std::make_unique<envoy::config::route::v3::VirtualHost>();
  }
  return nullptr;
}

absl::Status parseInto(std::string_view text, Message& out) {
  if (text.size() > kMaxValueBytes) {
    return invalid(absl::StrCat("the value is longer than ", kMaxValueBytes, " bytes"));
  }
  // Kuma: YAML to JSON, or, when that fails, the text as JSON.
  absl::StatusOr<json> value = common::parseYaml(text);
  if (!value.ok()) {
    absl::StatusOr<json> asJson = common::parseJson(text);
    if (!asJson.ok()) {
      return invalid(messageOf(value.status()));
    }
    value = std::move(asJson);
  }
  return fromJson(*value, out);
}

absl::StatusOr<std::unique_ptr<Message>> parseValue(ValueKind kind, std::string_view text) {
  std::unique_ptr<Message> message = newMessage(kind);
  if (absl::Status s = parseInto(text, *message); !s.ok()) {
    return s;
  }
  return message;
}

absl::StatusOr<std::unique_ptr<Message>> parseAnyResource(std::string_view text) {
  google::protobuf::Any any;
  if (absl::Status s = parseInto(text, any); !s.ok()) {
    return s;
  }
  if (any.type_url().empty()) {
    return invalid("invalid empty type URL");
  }
  const Descriptor* type = typeOfUrl(any.type_url());
  std::unique_ptr<Message> message = type == nullptr ? nullptr : newOfType(type);
  if (message == nullptr) {
    return invalid(absl::StrCat("could not resolve Any message type: ", any.type_url()));
  }
  if (!message->ParseFromString(any.value())) {
    return invalid(absl::StrCat("could not parse ", type->full_name()));
  }
  return message;
}

absl::Status validateNativeValue(ValueKind kind, std::string_view text, bool patch) {
  absl::StatusOr<std::unique_ptr<Message>> message = parseValue(kind, text);
  if (!message.ok() || patch) {
    return message.status();
  }
  // The protoc-gen-validate rules of these messages that an added value meets first.
  switch (kind) {
    case ValueKind::HttpFilter:
      if (static_cast<
              const envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter&>(
              **message)
              .name()
              .empty()) {
        return invalid("invalid HttpFilter.Name: value length must be at least 1 runes");
      }
      break;
    case ValueKind::NetworkFilter:
      if (static_cast<const envoy::config::listener::v3::Filter&>(**message).name().empty()) {
        return invalid("invalid Filter.Name: value length must be at least 1 runes");
      }
      break;
    case ValueKind::VirtualHost: {
      const auto& vh = static_cast<const envoy::config::route::v3::VirtualHost&>(**message);
      if (vh.name().empty()) {
        return invalid("invalid VirtualHost.Name: value length must be at least 1 runes");
      }
      if (vh.domains().empty()) {
        return invalid("invalid VirtualHost.Domains: value must contain at least 1 item(s)");
      }
      break;
    }
    case ValueKind::Cluster:
    case ValueKind::Listener:
      break;
  }
  return absl::OkStatus();
}

void mergeMessage(Message& dst, const Message& src) {
  clearReplacedDurations(dst, src);
  dst.MergeFrom(src);
}

absl::Status mergeAnys(google::protobuf::Any& dst, const google::protobuf::Any& src) {
  if (src.type_url().empty() && src.value().empty()) {
    return absl::OkStatus();  // no typed config in the patch
  }
  if (dst.type_url().empty() && dst.value().empty()) {
    dst = src;
    return absl::OkStatus();
  }
  if (src.type_url() != dst.type_url()) {
    return invalid(absl::StrCat("type URL of dst \"", dst.type_url(), "\" is different than src \"",
                                src.type_url(), "\""));
  }
  const Descriptor* type = typeOfUrl(dst.type_url());
  std::unique_ptr<Message> d = type == nullptr ? nullptr : newOfType(type);
  std::unique_ptr<Message> s = type == nullptr ? nullptr : newOfType(type);
  if (d == nullptr || s == nullptr) {
    return invalid(absl::StrCat("could not resolve Any message type: ", dst.type_url()));
  }
  if (!d->ParseFromString(dst.value()) || !s->ParseFromString(src.value())) {
    return invalid(absl::StrCat("could not unmarshal ", dst.type_url()));
  }
  mergeMessage(*d, *s);
  std::string bytes;
  serializeDeterministic(*d, bytes);
  dst.set_value(std::move(bytes));
  return absl::OkStatus();
}

absl::Status applyJsonPatches(const json& patches, Message& message) {
  absl::StatusOr<json> doc = toJson(message);
  if (!doc.ok()) {
    return doc.status();
  }
  if (doc->is_discarded()) {
    return absl::InternalError("failed to patch: parse proto resource to json");
  }
  if (absl::Status s = patchJson(patches, *doc); !s.ok()) {
    return s;
  }
  std::unique_ptr<Message> patched(message.New());
  if (absl::Status s = fromJson(*doc, *patched); !s.ok()) {
    return invalid(
        absl::StrCat("failed to patch: parse json patched resource to proto: ", s.message()));
  }
  message.CopyFrom(*patched);  // Kuma's util_proto.Replace
  return absl::OkStatus();
}

absl::Status applyJsonPatchesToAny(const json& patches, google::protobuf::Any& any) {
  const Descriptor* type = typeOfUrl(any.type_url());
  std::unique_ptr<Message> message = type == nullptr ? nullptr : newOfType(type);
  if (message == nullptr) {
    return invalid(absl::StrCat("failed to find message type (", any.type_url(), ")"));
  }
  if (!message->ParseFromString(any.value())) {
    return invalid("failed to unmarshal proto");
  }
  if (absl::Status s = applyJsonPatches(patches, *message); !s.ok()) {
    return s;
  }
  std::string bytes;
  serializeDeterministic(*message, bytes);
  any.set_value(std::move(bytes));
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshproxypatch
