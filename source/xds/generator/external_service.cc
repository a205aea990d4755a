#include "source/xds/generator/external_service.h"

#include <fstream>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/external_service.pb.h"
#include "api/mesh/v1alpha1/secret.pb.h"
#include "source/common/logging.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/validation_helpers.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

using mesh::v1alpha1::ExternalService;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;

constexpr char kExternalServiceTag[] = "kuma.io/external-service-name";

// A file data source larger than this is refused (certificates and keys are a few KiB).
constexpr std::streamsize kMaxDataSourceFileBytes = 1 << 20;

// The bytes of a data source as Kuma's datasource.Loader reads them: `inline`, `inlineString`,
// the mesh's Secret named by `secret` (its `data`), or the control plane's `file`. `what` names
// it in errors ("caCert").
absl::StatusOr<std::string> bytesOf(const MeshContext& context,
                                    const mesh::v1alpha1::DataSource& source, const char* what) {
  switch (source.type_case()) {
    case mesh::v1alpha1::DataSource::kInline:
      return source.inline_().value();
    case mesh::v1alpha1::DataSource::kInlineString:
      return source.inline_string();
    case mesh::v1alpha1::DataSource::kSecret: {
      const model::Resource* secret = context.secret(source.secret());
      const auto* spec =
          secret == nullptr ? nullptr : model::protoSpecOf<mesh::v1alpha1::Secret>(*secret);
      if (spec == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("could not load ", what, ": secret ", source.secret(), " not found"));
      }
      return spec->data().value();
    }
    case mesh::v1alpha1::DataSource::kFile: {
      std::ifstream in(source.file(), std::ios::binary);
      std::string data(static_cast<size_t>(kMaxDataSourceFileBytes) + 1, '\0');
      in.read(data.data(), kMaxDataSourceFileBytes + 1);
      if (!in.good() && !in.eof()) {
        return absl::NotFoundError(
            absl::StrCat("could not load ", what, ": could not read file ", source.file()));
      }
      if (in.gcount() > kMaxDataSourceFileBytes) {
        return absl::InvalidArgumentError(absl::StrCat("could not load ", what, ": file ",
                                                       source.file(), " is larger than 1 MiB"));
      }
      data.resize(static_cast<size_t>(in.gcount()));
      return data;
    }
    default:
      return std::string();
  }
}

}  // namespace

const model::Resource* externalServiceFor(const MeshContext& context, const std::string& service) {
  for (const auto& es : context.externalServices()) {
    const auto* spec = model::protoSpecOf<ExternalService>(*es);
    if (spec == nullptr) {
      continue;
    }
    if (auto it = spec->tags().find(kServiceTag);
        it != spec->tags().end() && it->second == service) {
      return es.get();
    }
  }
  return nullptr;
}

Protocol externalServiceProtocol(const model::Resource& externalService) {
  const auto* spec = model::protoSpecOf<ExternalService>(externalService);
  if (spec == nullptr) {
    return Protocol::Unknown;
  }
  auto it = spec->tags().find(kProtocolTag);
  return it == spec->tags().end() ? Protocol::Unknown : parseProtocol(it->second);
}

absl::Status buildExternalServiceCluster(const MeshContext& meshContext,
                                         const model::Resource& externalService,
                                         cluster_v3::Cluster& c) {
  const auto* spec = model::protoSpecOf<ExternalService>(externalService);
  if (spec == nullptr) {
    return absl::InvalidArgumentError("ExternalService without a spec");
  }
  const std::string& address = spec->networking().address();
  std::string host;
  std::string portText;
  uint32_t port = 0;
  if (!resources::splitHostPort(address, host, portText) || !absl::SimpleAtoi(portText, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("ExternalService ", externalService.meta.name,
                                                   ": address ", address, " has no port"));
  }
  const bool ip = resources::isIp(host);
  c.set_type(ip ? cluster_v3::Cluster::STATIC : cluster_v3::Cluster::STRICT_DNS);
  if (!ip) {
    c.set_dns_lookup_family(cluster_v3::Cluster::V4_ONLY);
  }
  const auto& tls = spec->networking().tls();
  std::map<std::string, std::string> tags(spec->tags().begin(), spec->tags().end());
  tags.erase(kServiceTag);
  if (tls.enabled()) {
    tags[kExternalServiceTag] = externalService.meta.name;
  }
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(c.name());
  auto* lb = cla->add_endpoints()->add_lb_endpoints();
  auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
  sa->set_address(host);
  sa->set_port_value(port);
  lb->mutable_load_balancing_weight()->set_value(1);
  if (!tags.empty()) {
    setTagsMetadata(*lb->mutable_metadata(), "envoy.lb", tags);
    setTagsMetadata(*lb->mutable_metadata(), "envoy.transport_socket_match", tags);
  }
  const Protocol protocol = externalServiceProtocol(externalService);
  if (isHttpProtocol(protocol)) {
    (*c.mutable_typed_extension_protocol_options())[kHttpProtocolOptionsKey] =
        httpProtocolOptionsAny(protocol != Protocol::Http, nullptr);
  }
  if (!tls.enabled()) {
    return absl::OkStatus();
  }
  tls_v3::UpstreamTlsContext context;
  context.set_allow_renegotiation(tls.has_allow_renegotiation() &&
                                  tls.allow_renegotiation().value());
  std::string sni = tls.has_server_name() ? tls.server_name().value() : "";
  if (sni.empty() && !ip) {
    sni = host;  // SNI can only be a host name
  }
  context.set_sni(sni);
  std::optional<std::string> cert, key, ca;
  // Kuma's NewExternalServiceEndpoint: a data source that cannot be read drops the endpoint
  // ("Endpoint won't be included in the XDS"), and the proxy's other outbounds stay.
  const auto load = [&](const mesh::v1alpha1::DataSource& source, const char* what,
                        std::optional<std::string>& into) {
    auto bytes = bytesOf(meshContext, source, what);
    if (!bytes.ok()) {
      logging::logger("xds")->error(
          "unable to create ExternalService endpoint. Endpoint won't be included in the XDS. "
          "(name {}, mesh {}): {}",
          externalService.meta.name, externalService.meta.mesh,
          std::string(bytes.status().message()));
      return false;
    }
    into = std::move(*bytes);
    return true;
  };
  const bool loaded =
      (!tls.has_ca_cert() || load(tls.ca_cert(), "caCert", ca)) &&
      (!tls.has_client_cert() || !tls.has_client_key() ||
       (load(tls.client_cert(), "clientCert", cert) && load(tls.client_key(), "clientKey", key)));
  if (!loaded) {
    c.mutable_load_assignment()->clear_endpoints();
    return absl::OkStatus();
  }
  if (cert.has_value() && key.has_value()) {
    auto* certificate = context.mutable_common_tls_context()->add_tls_certificates();
    certificate->mutable_certificate_chain()->set_inline_bytes(*cert);
    certificate->mutable_private_key()->set_inline_bytes(*key);
  }
  if (ca.has_value()) {
    auto* validation = context.mutable_common_tls_context()->mutable_validation_context();
    if (!(tls.has_skip_hostname_verification() && tls.skip_hostname_verification().value())) {
      const std::string san = sni.empty() ? host : sni;
      for (auto type :
           {tls_v3::SubjectAltNameMatcher::DNS, tls_v3::SubjectAltNameMatcher::IP_ADDRESS}) {
        auto* matcher = validation->add_match_typed_subject_alt_names();
        matcher->set_san_type(type);
        matcher->mutable_matcher()->set_exact(san);
      }
    }
    validation->mutable_trusted_ca()->set_inline_bytes(*ca);
  }
  auto* match = c.add_transport_socket_matches();
  match->set_name(host);
  auto* fields = match->mutable_match()->mutable_fields();
  for (const auto& [k, v] : tags) {
    (*fields)[k].set_string_value(v);
  }
  match->mutable_transport_socket()->set_name("envoy.transport_sockets.tls");
  *match->mutable_transport_socket()->mutable_typed_config() = packAny(context);
  return absl::OkStatus();
}

}  // namespace kuma::xds
