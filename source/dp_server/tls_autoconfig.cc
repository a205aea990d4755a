#include "source/dp_server/tls_autoconfig.h"

#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/core/config/loader.h"

namespace kuma::dp_server {

absl::Status autoconfigureTlsCertificate(config::KumaCpConfig& config) {
  if (config.general.tlsCertFile.empty()) {
    if (config.general.workDir.empty()) {
      return absl::FailedPreconditionError(
          "general.workDir must be set to autoconfigure the TLS certificate");
    }
    auto files = tls::ensureSelfSignedCertificate(config.general.workDir, tls::defaultCertHosts());
    if (!files.ok()) {
      return absl::Status(files.status().code(),
                          std::string("could not autoconfigure the TLS certificate: ") +
                              std::string(files.status().message()));
    }
    logging::logger("bootstrap")
        ->info("{} TLS certificate {}", files->generated ? "generated" : "reusing",
               files->certFile);
    config.general.tlsCertFile = files->certFile;
    config.general.tlsKeyFile = files->keyFile;
  }
  config::inheritGeneralTls(config);
  return absl::OkStatus();
}

}  // namespace kuma::dp_server
