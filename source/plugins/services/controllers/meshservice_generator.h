#pragma once

// File: meshservice_generator.h
// Kuma's MeshService generator for Universal zones (pkg/core/resources/apis/meshservice/
// generate): in every Mesh whose `meshServices.mode` is not Disabled, each `kuma.io/service`
// value of the Dataplanes' inbounds that is a DNS-1035 label becomes a MeshService of that name
// (selector `dataplaneTags: {kuma.io/service: <value>}`, one port per inbound: name = the
// inbound's name or port, targetPort = port, appProtocol = its protocol or tcp). With
// experimental.inboundTagsDisabled the `kuma.io/workload` label groups them instead. Generated
// MeshServices carry `kuma.io/managed-by: meshservice-generator`; when no Dataplane provides
// one any more it is labelled `kuma.io/deletion-grace-period-started-at` and deleted after
// meshService.deletionGracePeriod. In a Mesh whose mode is Disabled they are deleted at once.
// Ports must be identical across the Dataplanes of one service: the first Dataplane's win.
// With meshService.labelPropagation the Dataplanes' labels are propagated (label_propagation.h).
//
//   MeshServiceGenerator generator(manager, registry, options);
//   generator.generate();   // every meshService.generationInterval

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/plugins/services/controllers/label_propagation.h"

namespace kuma::services {

struct MeshServiceGeneratorOptions {
  std::string zone = "default";                         // multizone.zone.name
  absl::Duration deletionGracePeriod = absl::Hours(1);  // meshService.deletionGracePeriod
  bool inboundTagsDisabled = false;                     // experimental.inboundTagsDisabled
  bool labelPropagation = false;                        // meshService.labelPropagation.enabled
  std::vector<std::string> allowedLabelKeys;  // meshService.labelPropagation.allowedLabelKeys
  DroppedLabels* droppedLabels = nullptr;     // where dropped labels are counted (or none)
};

class MeshServiceGenerator {
 public:
  MeshServiceGenerator(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                       MeshServiceGeneratorOptions options);

  /** One pass over every Mesh. */
  void generate();

 private:
  void generateMesh(const std::string& mesh, bool enabled);

  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const meshType_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const model::ResourceTypeDescriptor* const meshServiceType_;
  const MeshServiceGeneratorOptions options_;
  const LabelPropagation propagation_;
};

}  // namespace kuma::services
