#include "source/plugins/policies/register.h"

#include "source/plugins/policies/meshaccesslog/meshaccesslog.h"
#include "source/plugins/policies/meshcircuitbreaker/meshcircuitbreaker.h"
#include "source/plugins/policies/meshfaultinjection/meshfaultinjection.h"
#include "source/plugins/policies/meshhealthcheck/meshhealthcheck.h"
#include "source/plugins/policies/meshhttproute/meshhttproute.h"
#include "source/plugins/policies/meshloadbalancingstrategy/meshloadbalancingstrategy.h"
#include "source/plugins/policies/meshratelimit/meshratelimit.h"
#include "source/plugins/policies/meshretry/meshretry.h"
#include "source/plugins/policies/meshtcproute/meshtcproute.h"
#include "source/plugins/policies/meshtimeout/meshtimeout.h"
#include "source/plugins/policies/meshtrafficpermission/meshtrafficpermission.h"

namespace kuma::policies {

void registerPolicies(model::TypeRegistry& registry) {
  for (const PolicyDefinition& def : {
           meshtrafficpermission::definition(),
           meshtimeout::definition(),
           meshretry::definition(),
           meshcircuitbreaker::definition(),
           meshhealthcheck::definition(),
           meshhttproute::definition(),
           meshtcproute::definition(),
           meshloadbalancingstrategy::definition(),
           meshratelimit::definition(),
           meshfaultinjection::definition(),
           meshaccesslog::definition(),
       }) {
    registry.add(makeDescriptor(def));
  }
}

}  // namespace kuma::policies
