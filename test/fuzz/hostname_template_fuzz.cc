// Fuzz target: HostnameGenerator templates (source/plugins/services/hostnamegenerator/
// hostname_template.h, docs/fuzzing.md), parsed and rendered on every REST write.
//
// Input: the template text. Oracles: nothing crashes; errors are InvalidArgument with a
// bounded message; a rendered hostname is no longer than the template allows (every action
// yields at most the longest stub value).

#include <cstddef>
#include <cstdint>
#include <string>

#include "source/plugins/services/hostnamegenerator/hostname_template.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma::services::hostnamegenerator;  // NOLINT
  const std::string text(kuma::fuzz::asText(data, size));
  TemplateValues values;
  values.fields = {{"Name", "name"},
                   {"DisplayName", "displayname"},
                   {"Namespace", "namespace"},
                   {"Mesh", "mesh"},
                   {"Zone", "zone"}};
  values.label = [](std::string_view key) -> absl::StatusOr<std::string> {
    if (key.empty()) {
      return absl::NotFoundError("no such label");
    }
    return "label";
  };
  auto out = renderHostnameTemplate(text, values);
  if (!out.ok()) {
    FUZZ_CHECK(out.status().code() == absl::StatusCode::kInvalidArgument, out.status().ToString());
    FUZZ_CHECK(out.status().message().size() <= 2 * kMaxTemplateBytes + 256,
               "unbounded error text");
    return 0;
  }
  FUZZ_CHECK(out->size() <= text.size() * 11, "the rendering outgrew its template");
  return 0;
}
