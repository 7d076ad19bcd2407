#include <gtest/gtest.h>

#include <caf/sec.hpp>

#include "runtime/codec/error.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;

TEST(codec_error, describe_takes_apart_message_and_where) {
  auto d = describe(malformed("label name is empty", "timeseries[3]"));
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_EQ(d.message, "label name is empty");
  EXPECT_EQ(d.where, "timeseries[3]");
  EXPECT_EQ(d.http_status(), 400);
  EXPECT_EQ(describe(too_large("x", "y")).http_status(), 413);
  EXPECT_EQ(describe(unsupported_media_type("x", "y")).http_status(), 415);
}

TEST(codec_error, describe_survives_errors_of_other_shapes) {
  auto one = describe(caf::make_error(errc::malformed, std::string{"only"}));
  EXPECT_EQ(one.code, errc::malformed);
  EXPECT_EQ(one.message, "only");
  EXPECT_EQ(one.where, "");
  auto odd = describe(caf::make_error(errc::too_large, 42, 3.5));
  EXPECT_EQ(odd.code, errc::too_large);
  EXPECT_FALSE(odd.message.empty());
  auto bare = describe(caf::make_error(errc::malformed));
  EXPECT_FALSE(bare.message.empty());
  auto foreign = describe(caf::make_error(caf::sec::runtime_error,
                                          std::string{"boom"}));
  EXPECT_EQ(foreign.code, errc::internal);
  EXPECT_EQ(foreign.http_status(), 500);
  EXPECT_EQ(foreign.message, "boom");
  EXPECT_EQ(describe(caf::error{}).code, errc::none);
}

} // namespace
