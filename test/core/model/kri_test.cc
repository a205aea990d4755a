#include "source/core/model/kri.h"

#include <string>

#include "gtest/gtest.h"

namespace kuma::model {
namespace {

TEST(KriTest, ParsesEveryField) {
  auto id = parseKri("kri_mt_default_zone-1_kuma-system_mt-all_http");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->shortName, "mt");
  EXPECT_EQ(id->mesh, "default");
  EXPECT_EQ(id->zone, "zone-1");
  EXPECT_EQ(id->ns, "kuma-system");
  EXPECT_EQ(id->name, "mt-all");
  EXPECT_EQ(id->sectionName, "http");
  EXPECT_EQ(formatKri(*id), "kri_mt_default_zone-1_kuma-system_mt-all_http");
}

TEST(KriTest, EmptyFieldsAndExtraSeparators) {
  auto id = parseKri("kri_dp_default_default__web-1_");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ns, "");
  EXPECT_EQ(id->sectionName, "");
  // Kuma joins what follows the sixth `_` without separators.
  auto joined = parseKri("kri_dp_m_z_n_web_a_b_c");
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->sectionName, "abc");
}

TEST(KriTest, KumasErrorTexts) {
  auto shortId = parseKri("garbage");
  ASSERT_FALSE(shortId.ok());
  EXPECT_EQ(shortId.status().message(), "invalid identifier string: \"garbage\"");
  auto prefix = parseKri("kru_mt_default_default__mt-all_");
  ASSERT_FALSE(prefix.ok());
  EXPECT_EQ(prefix.status().message(),
            "identifier must start with 'kri': \"kru_mt_default_default__mt-all_\"");
  auto control = parseKri(std::string("a\n\"b", 4));
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.status().message(), "invalid identifier string: \"a\\x0a\\\"b\"");
}

TEST(KriTest, RefusesOversizedInput) {
  const std::string huge = "kri_" + std::string(kMaxKriLength, '_');
  auto id = parseKri(huge);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(id.status().message().size(), 100u);
}

}  // namespace
}  // namespace kuma::model
