#pragma once

// File: hostname_template.h
// HostnameGenerator templates, run by the Go text/template subset of source/common/go_template.h
// on Kuma's data: the fields `{{ .Name }}`, `{{ .DisplayName }}`, `{{ .Namespace }}`,
// `{{ .Mesh }}`, `{{ .Zone }}` and the function `{{ label "key" }}`, with trim markers and
// comments. Other actions (if, range, pipelines, Go's builtin functions) are refused. Errors carry
// Go's wording where Kuma shows it, after Kuma's "couldn't parse template: " or
// "couldn't render template...: ".
//
//   auto out = renderHostnameTemplate("{{ .DisplayName }}.svc.mesh.local", values);

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kuma::services::hostnamegenerator {

struct TemplateValues {
  std::map<std::string, std::string, std::less<>> fields;  // "Name", "DisplayName", ...
  /** `label "key"`: the value, or the function's error (Kuma: `label <key> not found`), which the
   *  renderer reports as Go's ExecError does (`template: :1:3: executing "" at <label "key">:
   *  error calling label: ...`). */
  std::function<absl::StatusOr<std::string>(std::string_view key)> label;
  /** Parse-only checks (Kuma's MeshIdentity `spiffeID` templates are parsed, never run here):
   *  a field not in `fields` renders empty instead of failing. */
  bool anyField = false;
};

/** Longest template accepted (bytes); Kuma's hostnames are at most 253 characters. */
inline constexpr size_t kMaxTemplateBytes = 4096;

/**
 * Renders `text`. InvalidArgument with "couldn't parse template: ..." for a template that
 * does not parse, or "couldn't render template ...: ..." for one that fails to execute.
 */
absl::StatusOr<std::string> renderHostnameTemplate(std::string_view text,
                                                   const TemplateValues& values);

}  // namespace kuma::services::hostnamegenerator
