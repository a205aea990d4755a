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

}  // namespace
}  // namespace kuma::validators
