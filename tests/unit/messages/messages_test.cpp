#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/messages.hpp"

namespace {

template <class T>
T round_trip(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x))
    ADD_FAILURE() << "serialize failed";
  T y;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(y))
    ADD_FAILURE() << "deserialize failed";
  return y;
}

TEST(messages, sample_batch_survives_serialization) {
  caf::actor_system_config cfg;
  vigil::add_message_types(cfg);
  caf::actor_system sys{cfg};
  vigil::sample_batch b;
  b.service = "checkout";
  b.texts = "up{job=\"checkout\"}";
  b.samples.push_back({42, 1000, 1.5, 0, 18, vigil::sample_flags::counter});
  b.received_ns = 7;
  auto c = round_trip(sys, b);
  EXPECT_EQ(c.service, "checkout");
  ASSERT_EQ(c.samples.size(), 1u);
  EXPECT_EQ(c.text(c.samples[0]), "up{job=\"checkout\"}");
  EXPECT_EQ(c.samples[0].series, 42u);
  EXPECT_EQ(c.samples[0].value, 1.5);
  EXPECT_EQ(c.samples[0].flags, vigil::sample_flags::counter);
}

TEST(messages, errc_renders_with_its_name) {
  caf::actor_system_config cfg;
  vigil::add_message_types(cfg);
  caf::actor_system sys{cfg};
  auto err = caf::make_error(vigil::errc::overloaded, "shard 3 full");
  EXPECT_NE(sys.render(err).find("overloaded"), std::string::npos);
  EXPECT_NE(sys.render(err).find("shard 3 full"), std::string::npos);
}

TEST(messages, metric_of_strips_labels) {
  EXPECT_EQ(vigil::metric_of("up{job=\"x\"}"), "up");
  EXPECT_EQ(vigil::metric_of("up"), "up");
}

} // namespace
