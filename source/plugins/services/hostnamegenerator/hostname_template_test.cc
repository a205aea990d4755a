// HostnameGenerator templates: what renders, and Go's errors for what does not (the messages
// were taken from Kuma 2.14.3's answers to the same templates).

#include "source/plugins/services/hostnamegenerator/hostname_template.h"

#include <string>

#include "gtest/gtest.h"

namespace kuma::services::hostnamegenerator {
namespace {

TemplateValues values() {
  TemplateValues v;
  v.fields = {{"Name", "backend-x"},
              {"DisplayName", "backend"},
              {"Namespace", "kuma-demo"},
              {"Mesh", "default"},
              {"Zone", "east"}};
  v.label = [](std::string_view key) -> absl::StatusOr<std::string> {
    if (key == "team") {
      return "core";
    }
    return absl::NotFoundError(std::string("label ") + std::string(key) + " not found");
  };
  return v;
}

std::string render(std::string_view text) {
  auto out = renderHostnameTemplate(text, values());
  return out.ok() ? *out : "ERROR: " + std::string(out.status().message());
}

TEST(HostnameTemplate, RendersFieldsLabelsTrimMarkersAndComments) {
  EXPECT_EQ(render("{{ .DisplayName }}.svc.mesh.local"), "backend.svc.mesh.local");
  EXPECT_EQ(render("{{.DisplayName}}.{{ .Namespace }}.svc.{{ .Zone }}.mesh.local"),
            "backend.kuma-demo.svc.east.mesh.local");
  EXPECT_EQ(render("{{ label \"team\" }}.{{ .Mesh }}"), "core.default");
  EXPECT_EQ(render("{{ label `team` }}"), "core");
  EXPECT_EQ(render("a  {{- .Name -}}  .b"), "abackend-x.b");
  EXPECT_EQ(render("x{{/* note */}}y"), "xy");
  EXPECT_EQ(render("plain.local"), "plain.local");
}

TEST(HostnameTemplate, ErrorsInGoWording) {
  EXPECT_EQ(render("{{ .Foo }}.x"),
            "ERROR: couldn't render template with stub values: template: :1:3: executing \"\" at "
            "<.Foo>: can't evaluate field Foo in type struct { Name string; DisplayName string; "
            "Namespace string; Mesh string; Zone string }");
  EXPECT_EQ(render("{{ nope }}"),
            "ERROR: couldn't parse template: template: :1: function \"nope\" not defined");
  EXPECT_EQ(render("{{ .Name"), "ERROR: couldn't parse template: template: :1: unclosed action");
  EXPECT_EQ(render("a\n{{ .Name"), "ERROR: couldn't parse template: template: :2: unclosed action");
  // Go's ExecError: position of the command, its text with one space, then the function's error.
  EXPECT_EQ(render("x.{{ label   \"missing\" }}"),
            "ERROR: couldn't render template: template: :1:5: executing \"\" at <label "
            "\"missing\">: error calling label: label missing not found");
  EXPECT_EQ(render("a\n{{label `missing`}}"),
            "ERROR: couldn't render template: template: :2:2: executing \"\" at <label "
            "`missing`>: error calling label: label missing not found");
  EXPECT_EQ(render("{{ label team }}").rfind("ERROR: couldn't parse template", 0), 0u);
  EXPECT_EQ(render("{{ }}").rfind("ERROR: couldn't parse template", 0), 0u);
  EXPECT_EQ(render(std::string(kMaxTemplateBytes + 1, 'a')).rfind("ERROR:", 0), 0u);
}

}  // namespace
}  // namespace kuma::services::hostnamegenerator
