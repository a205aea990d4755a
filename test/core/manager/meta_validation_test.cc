#include "source/core/manager/meta_validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuma::manager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using validators::ValidationError;
using validators::Violation;

std::vector<Violation> nameViolations(std::string_view name, NameRule rule) {
  ValidationError errors;
  validateName(name, rule, errors);
  return errors.violations();
}

TEST(MetaValidationTest, StrictNames) {
  EXPECT_THAT(nameViolations("web-1.default", NameRule::Strict), IsEmpty());
  EXPECT_THAT(nameViolations("a", NameRule::Strict), IsEmpty());
  for (const char* bad : {"Web", "web_1", "-web", "web-", "a..b", ".a", "a b", "ü"}) {
    EXPECT_THAT(nameViolations(bad, NameRule::Strict), SizeIs(1)) << bad;
  }
  EXPECT_THAT(nameViolations("", NameRule::Strict),
              ElementsAre(Violation{"name", "cannot be empty"}));
}

TEST(MetaValidationTest, BackwardCompatibleNamesAllowUnderscore) {
  EXPECT_THAT(nameViolations("old_name", NameRule::BackwardCompatible), IsEmpty());
  EXPECT_THAT(nameViolations("Old", NameRule::BackwardCompatible), SizeIs(1));
}

TEST(MetaValidationTest, MeshField) {
  ValidationError errors;
  validateMeshField("my_mesh-1.x", errors);
  EXPECT_TRUE(errors.empty());
  validateMeshField("My Mesh", errors);
  validateMeshField("", errors);
  EXPECT_THAT(errors.violations(), SizeIs(2));
}

TEST(MetaValidationTest, QualifiedNames) {
  EXPECT_THAT(qualifiedNameErrors("kuma.io/service"), IsEmpty());
  EXPECT_THAT(qualifiedNameErrors("app"), IsEmpty());
  EXPECT_THAT(qualifiedNameErrors("My_Key.1"), IsEmpty());
  EXPECT_THAT(qualifiedNameErrors("/x"), ElementsAre("prefix part must be non-empty"));
  EXPECT_THAT(qualifiedNameErrors("kuma.io/"), ElementsAre("name part must be non-empty"));
  EXPECT_THAT(qualifiedNameErrors("a/b/c"),
              ElementsAre(HasSubstr("with an optional DNS subdomain prefix and '/'")));
  EXPECT_THAT(qualifiedNameErrors("Kuma.io/x"), ElementsAre(HasSubstr("prefix part a lowercase")));
  EXPECT_THAT(qualifiedNameErrors(std::string(64, 'k')),
              ElementsAre("name part must be no more than 63 characters"));
  EXPECT_THAT(
      qualifiedNameErrors("bad key"),
      ElementsAre("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                  "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
                  "or '123-abc', regex used for validation is "
                  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
}

TEST(MetaValidationTest, LabelValues) {
  EXPECT_THAT(labelValueErrors(""), IsEmpty());
  EXPECT_THAT(labelValueErrors("my_value-1.2"), IsEmpty());
  EXPECT_THAT(labelValueErrors(std::string(64, 'v')),
              ElementsAre("must be no more than 63 characters"));
  EXPECT_THAT(labelValueErrors("-x"), ElementsAre(HasSubstr("a valid label must be")));
  EXPECT_THAT(labelValueErrors("a/b"), SizeIs(1));
}

TEST(MetaValidationTest, LabelsAreReportedPerKey) {
  ValidationError errors;
  validateLabels({{"ok", "fine"}, {"bad key", "bad value!"}}, errors);
  ASSERT_THAT(errors.violations(), SizeIs(2));
  EXPECT_EQ(errors.violations()[0].field, "labels[\"bad key\"]");
  EXPECT_EQ(errors.violations()[1].field, "labels[\"bad key\"]");
}

}  // namespace
}  // namespace kuma::manager
