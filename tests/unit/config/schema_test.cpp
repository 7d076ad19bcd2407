// The schema itself: it covers every field of vigil::options exactly once,
// each option reaches its own field, and every entry is documented.

#include "config/schema.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "config/suggest.hpp"

namespace vigil::config {
namespace {

// -- counting the fields of an aggregate --------------------------------------

// Converts to any field type, so T{any_field{}, ...} compiles for up to as
// many initializers as T has fields.
struct any_field {
  template <class T>
  operator T() const;
};

template <class T, size_t... I>
constexpr bool brace_initializable(std::index_sequence<I...>) {
  return requires { T{(void(I), any_field{})...}; };
}

template <class T, size_t N = 0>
constexpr size_t field_count() {
  if constexpr (brace_initializable<T>(std::make_index_sequence<N + 1>{}))
    return field_count<T, N + 1>();
  else
    return N;
}

// Options plus nested sections directly inside the section `key`.
size_t entries_in(std::string_view key) {
  size_t n = 0;
  for (const auto& opt : schema())
    n += opt.section() == key ? 1 : 0;
  for (const auto& sec : sections())
    n += parent_key(sec.key) == key && sec.has_options ? 1 : 0;
  return n;
}

TEST(config_schema, every_field_of_the_option_structs_has_an_entry) {
  // A field added to options.hpp without a schema entry fails here.
  EXPECT_EQ(field_count<options>(), entries_in(""));
  EXPECT_EQ(field_count<node_options>(), entries_in("node"));
  EXPECT_EQ(field_count<supervision_options>(),
            entries_in("node.supervision"));
  EXPECT_EQ(field_count<ingest_options>(), entries_in("ingest"));
  EXPECT_EQ(field_count<detection_options>(), entries_in("detection"));
  EXPECT_EQ(field_count<zscore_options>(), entries_in("detection.zscore"));
  EXPECT_EQ(field_count<ewma_options>(), entries_in("detection.ewma"));
  EXPECT_EQ(field_count<cusum_options>(), entries_in("detection.cusum"));
  EXPECT_EQ(field_count<ramp_options>(), entries_in("detection.ramp"));
  EXPECT_EQ(field_count<security_options>(), entries_in("security"));
  EXPECT_EQ(field_count<cluster_options>(), entries_in("cluster"));
}

// Changes the field behind `p` to some other value of its type.
void perturb(field_pointer p) {
  std::visit(
    [](auto* field) {
      using type = std::remove_cvref_t<decltype(*field)>;
      if constexpr (std::is_same_v<type, bool>)
        *field = !*field;
      else if constexpr (std::is_same_v<type, std::string>)
        *field += "x";
      else if constexpr (std::is_same_v<type, host_port>)
        field->port = static_cast<uint16_t>(field->port + 1);
      else if constexpr (std::is_same_v<type, std::vector<std::string>>)
        field->push_back("x");
      else if constexpr (std::is_same_v<type, duration>)
        *field += duration{1};
      else
        *field = *field + 1;
    },
    p);
}

TEST(config_schema, each_option_reaches_its_own_field_and_no_other) {
  const options defaults;
  for (const auto& opt : schema()) {
    options x;
    perturb(opt.field(x));
    EXPECT_NE(x, defaults) << opt.key();
    for (const auto& other : schema()) {
      if (&other == &opt)
        EXPECT_NE(other.render(x), other.render(defaults)) << opt.key();
      else
        EXPECT_EQ(other.render(x), other.render(defaults))
          << opt.key() << " also changed " << other.key();
    }
  }
}

TEST(config_schema, keys_are_unique_and_live_in_known_sections) {
  std::set<std::string_view> seen;
  for (auto key : all_keys())
    EXPECT_TRUE(seen.insert(key).second) << "duplicate key " << key;
  for (const auto& opt : schema()) {
    const auto* sec = find_section(opt.section());
    ASSERT_NE(sec, nullptr) << opt.key();
    EXPECT_TRUE(sec->has_options) << opt.key();
    EXPECT_EQ(find_option(opt.key()), &opt);
  }
  std::vector<std::string_view> top;
  for (const auto& sec : sections())
    if (parent_key(sec.key).empty())
      top.push_back(sec.key);
  // CONTRACT §6 fixes the top-level sections and their order.
  EXPECT_EQ(top, (std::vector<std::string_view>{
                   "node", "ingest", "detection", "correlation", "topology",
                   "rca", "remediation", "notifiers", "llm", "suppression",
                   "security", "cluster"}));
}

TEST(config_schema, every_option_is_documented_and_its_default_is_legal) {
  const options defaults;
  for (const auto& opt : schema()) {
    auto d = opt.description();
    EXPECT_FALSE(d.empty()) << opt.key();
    EXPECT_TRUE(d.ends_with('.')) << opt.key();
    // One sentence: no full stop followed by a new sentence inside.
    EXPECT_EQ(d.find(". "), std::string_view::npos) << opt.key() << ": " << d;
    EXPECT_FALSE(opt.legal().empty()) << opt.key();
    EXPECT_FALSE(opt.default_value().empty()) << opt.key();
    EXPECT_FALSE(opt.check(defaults)) << opt.key() << ": "
                                      << opt.check(defaults).value_or("");
  }
  for (const auto& sec : sections())
    EXPECT_TRUE(sec.description.ends_with('.')) << sec.key;
}

TEST(config_schema, defaults_are_rendered_from_the_option_structs) {
  EXPECT_EQ(find_option("ingest.max_body_bytes")->default_value(), "16MiB");
  EXPECT_EQ(find_option("node.http")->default_value(), "127.0.0.1:8470");
  EXPECT_EQ(find_option("node.id")->default_value(), "\"\"");
  EXPECT_EQ(find_option("detection.detectors")->default_value(),
            "[zscore, ewma, cusum]");
  EXPECT_EQ(find_option("detection.series_ttl")->default_value(), "1h");
  EXPECT_EQ(find_option("detection.ewma.alpha")->default_value(), "0.1");
  EXPECT_EQ(find_option("cluster.join")->default_value(), "[]");
}

TEST(config_schema, the_detector_list_accepts_exactly_the_known_detectors) {
  const auto* opt = find_option("detection.detectors");
  ASSERT_NE(opt, nullptr);
  const auto& choices = opt->definition().choices;
  EXPECT_TRUE(std::equal(choices.begin(), choices.end(),
                         known_detectors.begin(), known_detectors.end()));
  EXPECT_EQ(find_option("detection.min_votes")->definition().max,
            known_detectors.size());
}

TEST(config_schema, suggestions_find_typos_and_misplaced_keys) {
  using v = std::vector<std::string_view>;
  EXPECT_EQ(suggest_keys("ingest.max_body_byte"), v{"ingest.max_body_bytes"});
  EXPECT_EQ(suggest_keys("detection.zscore.windw"),
            v{"detection.zscore.window"});
  EXPECT_EQ(suggest_keys("detecton"), v{"detection"});
  EXPECT_EQ(suggest_keys("node.shards"), v{"cluster.shards"});
  EXPECT_EQ(suggest_keys("ingest.supervision"), v{"node.supervision"});
  EXPECT_EQ(suggest_keys("ingest.xyz"), v{});
}

TEST(config_schema, the_word_helpers_behave) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("Max-Body", "max_body"), 0u);
  EXPECT_EQ(did_you_mean(std::vector<std::string_view>{"a"}),
            "did you mean a?");
  EXPECT_EQ(did_you_mean(std::vector<std::string_view>{"a", "b", "c"}),
            "did you mean a, b or c?");
  EXPECT_EQ(yaml_scalar("plain"), "plain");
  EXPECT_EQ(yaml_scalar(""), "\"\"");
  EXPECT_EQ(yaml_scalar("true"), "\"true\"");
  EXPECT_EQ(yaml_scalar("123"), "\"123\"");
  EXPECT_EQ(yaml_scalar("a b"), "\"a b\"");
  EXPECT_EQ(yaml_scalar("a:1"), "a:1");
  EXPECT_EQ(yaml_scalar("a:1", true), "\"a:1\"");
  EXPECT_EQ(yaml_scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
}

} // namespace
} // namespace vigil::config
