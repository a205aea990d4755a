#include "source/plugins/services/register.h"

#include "source/plugins/services/hostnamegenerator/hostnamegenerator.h"
#include "source/plugins/services/meshexternalservice/meshexternalservice.h"
#include "source/plugins/services/meshmultizoneservice/meshmultizoneservice.h"
#include "source/plugins/services/meshservice/meshservice.h"
#include "source/plugins/services/meshzoneaddress/meshzoneaddress.h"

namespace kuma::services {

void registerServiceTypes(model::TypeRegistry& registry) {
  // Kuma's registration order (its zz_generated.modules.go).
  registry.add(policies::makeDescriptor(hostnamegenerator::definition()));
  registry.add(policies::makeDescriptor(meshexternalservice::definition()));
  registry.add(policies::makeDescriptor(meshmultizoneservice::definition()));
  registry.add(policies::makeDescriptor(meshservice::definition()));
  registry.add(policies::makeDescriptor(meshzoneaddress::definition()));
}

}  // namespace kuma::services
