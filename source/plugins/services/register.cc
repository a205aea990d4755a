#include "source/plugins/services/register.h"

#include <vector>

#include "source/plugins/services/hostnamegenerator/hostnamegenerator.h"
#include "source/plugins/services/meshexternalservice/meshexternalservice.h"
#include "source/plugins/services/meshmultizoneservice/meshmultizoneservice.h"
#include "source/plugins/services/meshservice/meshservice.h"
#include "source/plugins/services/meshzoneaddress/meshzoneaddress.h"

namespace kuma::services {

namespace {

// Kuma's registration order (its zz_generated.modules.go).
const std::vector<policies::PolicyDefinition>& definitions() {
  static const auto* const all = new std::vector<policies::PolicyDefinition>{
      hostnamegenerator::definition(), meshexternalservice::definition(),
      meshmultizoneservice::definition(), meshservice::definition(), meshzoneaddress::definition()};
  return *all;
}

}  // namespace

void registerServiceTypes(model::TypeRegistry& registry) {
  for (const policies::PolicyDefinition& def : definitions()) {
    registry.add(policies::makeDescriptor(def));
  }
}

const policies::PolicyDefinition* serviceDefinition(std::string_view typeName) {
  for (const policies::PolicyDefinition& def : definitions()) {
    if (def.name == typeName) {
      return &def;
    }
  }
  return nullptr;
}

}  // namespace kuma::services
