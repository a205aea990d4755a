// Fuzz target: resource validation through the ResourceManager, for every registered type
// (docs/fuzzing.md).
//
// Input: byte 0 selects the type (as in rest_codec_fuzz), the rest is a JSON body, parsed with
// nlohmann::json directly so that this target exercises validation rather than the YAML reader.
// A resource that parses is created through a ResourceManager over the memory store (meta, label
// and spec validation, defaulting, the mesh check), the way the REST API writes it. The oracle:
// a resource the manager accepted reads back through toRestJson/fromRestJson and is accepted
// again as an update (`kumactl get` piped into `kumactl apply`), then deletes cleanly.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

struct World {
  store::ResourceStorePtr store = memory::newMemoryStore();
  std::unique_ptr<manager::ResourceManager> manager;

  World() {
    manager::Options options;
    options.upsertRetryBaseBackoff = absl::ZeroDuration();
    manager = std::make_unique<manager::ResourceManager>(*store, server::allTypes(), options);
    model::Resource mesh;
    mesh.descriptor = server::allTypes().byName("Mesh");
    mesh.meta.name = "default";
    mesh.spec = mesh.descriptor->emptySpec();
    FUZZ_CHECK(manager->create(std::move(mesh)).ok(), "cannot create the default Mesh");
  }
};

World& world() {
  static World* const w = new World();
  return *w;
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  kuma::fuzz::maybeListTypes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size < 1) {
    return 0;
  }
  const model::ResourceTypeDescriptor& type = fuzz::typeForByte(data[0]);
  const std::string_view text = fuzz::asText(data + 1, size - 1);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return 0;
  }
  auto parsed = model::fromRestJson(type, body);
  if (!parsed.ok()) {
    return 0;
  }
  // The descriptor's own validation, as the manager calls it.
  validators::ValidationError direct;
  if (type.validate) {
    type.validate(parsed->resource, direct);
  }
  (void)direct.toString();

  manager::ResourceManager& manager = *fuzz::world().manager;
  auto created = manager.create(parsed->resource);
  if (!created.ok()) {
    // Rejections must be the API's 400/409/404 kinds, never an internal error.
    FUZZ_CHECK(absl::IsInvalidArgument(created.status()) ||
                   absl::IsAlreadyExists(created.status()) || absl::IsNotFound(created.status()),
               absl::StrCat(type.name, ": create failed with ", created.status().ToString()));
    return 0;
  }
  const store::ResourceKey key{(*created)->meta.name, (*created)->meta.mesh};
  auto stored = manager.get(type, key);
  FUZZ_CHECK(stored.ok(),
             absl::StrCat(type.name, ": created but not found: ", stored.status().ToString()));
  const nlohmann::ordered_json rest = model::toRestJson(**stored);
  const std::string restText = rest.dump();
  auto reread = model::fromRestJson(type, nlohmann::json::parse(restText));
  FUZZ_CHECK(reread.ok(), absl::StrCat(type.name, ": stored resource does not read back: ",
                                       reread.status().ToString(), "\n", restText));
  reread->resource.meta.name = key.name;
  reread->resource.meta.mesh = key.mesh;
  reread->resource.meta.version = (*stored)->meta.version;
  auto updated = manager.update(std::move(reread->resource));
  std::string detail;
  if (!updated.ok()) {
    if (auto violations = validators::ValidationError::fromStatus(updated.status())) {
      detail = violations->toString();
    }
  }
  FUZZ_CHECK(updated.ok(), absl::StrCat(type.name, ": stored resource is not accepted back: ",
                                        updated.status().ToString(), " ", detail, "\n", restText));
  const absl::Status removed = manager.remove(type, key);
  FUZZ_CHECK(removed.ok(), absl::StrCat(type.name, ": cannot delete: ", removed.ToString()));
  return 0;
}
