#include "source/core/validators/validation_error.h"

#include "gtest/gtest.h"

namespace kuma::validators {
namespace {

TEST(PathBuilder, PrintsKumaPaths) {
  const auto p =
      PathBuilder("networking").field("inbound").index(0).field("tags").key("kuma.io/service");
  EXPECT_EQ(p.str(), "networking.inbound[0].tags[\"kuma.io/service\"]");
  EXPECT_EQ(PathBuilder().field("spec").str(), "spec");
}

TEST(ValidationError, CollectsAndRoundTripsThroughStatus) {
  ValidationError err;
  EXPECT_TRUE(err.toStatus().ok());
  err.addViolation("networking.address", "address can't be empty");
  ValidationError nested;
  nested.addViolation("port", "port must be in the range [1, 65535]");
  err.addAt(PathBuilder("networking").field("inbound").index(0), nested);
  EXPECT_EQ(err.toString(),
            "networking.address: address can't be empty; "
            "networking.inbound[0].port: port must be in the range [1, 65535]");
  const absl::Status status = err.toStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Resource is not valid");
  auto back = ValidationError::fromStatus(status);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->violations(), err.violations());
  EXPECT_FALSE(ValidationError::fromStatus(absl::InvalidArgumentError("x")).has_value());
}

// Found by test/fuzz/config_loader_fuzz.cc: a violation quoting input that is not UTF-8 made
// toStatus() throw (nlohmann's dump of the payload).
TEST(ValidationError, NonUtf8InViolationsIsReplaced) {
  ValidationError err;
  err.addViolation("labels[\"a\xff\"]",
                   "bad value \"10.0.0\xae"
                   "0/8\"");
  const absl::Status status = err.toStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto back = ValidationError::fromStatus(status);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->violations().size(), 1u);
  EXPECT_EQ(back->violations()[0].field, "labels[\"a\xEF\xBF\xBD\"]");
  EXPECT_EQ(back->violations()[0].message,
            "bad value \"10.0.0\xEF\xBF\xBD"
            "0/8\"");
}

}  // namespace
}  // namespace kuma::validators
