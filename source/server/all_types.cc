#include "source/server/all_types.h"

#include "source/core/resources/mesh_types.h"
#include "source/plugins/identity/register.h"
#include "source/plugins/policies/register.h"
#include "source/plugins/services/register.h"

namespace kuma::server {

const model::TypeRegistry& allTypes() {
  static const model::TypeRegistry* const registry = [] {
    auto* r = new model::TypeRegistry();
    resources::registerMeshTypes(*r);
    policies::registerPolicies(*r);
    services::registerServiceTypes(*r);
    identity::registerIdentityTypes(*r);
    return r;
  }();
  return *registry;
}

}  // namespace kuma::server
