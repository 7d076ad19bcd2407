// The bundled config/vigil.yaml is the rendered reference config, byte for
// byte, and reads back as exactly the built-in defaults: the documentation
// cannot drift from the code.

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "tests/support/support.hpp"

namespace vigil {
namespace {

const std::string bundled_path = std::string{VIGIL_SOURCE_DIR}
                                 + "/config/vigil.yaml";

TEST(config_reference, the_bundled_vigil_yaml_is_the_rendered_reference) {
  // VIGIL_REGENERATE_REFERENCE=1 rewrites the file first (same text as
  // `vigild --print-config > config/vigil.yaml`).
  if (const char* regen = std::getenv("VIGIL_REGENERATE_REFERENCE");
      regen && std::string{regen} == "1")
    std::ofstream{bundled_path, std::ios::binary} << reference_config();
  EXPECT_EQ(test::read_file(bundled_path), reference_config())
    << "config/vigil.yaml is out of date: regenerate it with "
       "`vigild --print-config > config/vigil.yaml` or by running this test "
       "with VIGIL_REGENERATE_REFERENCE=1";
}

TEST(config_reference, the_bundled_vigil_yaml_loads_as_the_defaults) {
  auto r = load_config_file(bundled_path);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts, options{});
}

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= key.size()) {
    auto dot = std::min(key.find('.', pos), key.size());
    parts.emplace_back(key.substr(pos, dot - pos));
    pos = dot + 1;
  }
  return parts;
}

TEST(config_reference, the_reference_shows_every_key_with_a_comment_above) {
  auto text = reference_config();
  for (const auto& opt : config::schema()) {
    auto depth = std::count(opt.key().begin(), opt.key().end(), '.');
    std::string indent(2 * depth, ' ');
    // Search from the key's section header on: names like "threshold"
    // appear in several sections.
    size_t from = 0;
    std::string section_indent;
    for (const auto& part : split_key(opt.section())) {
      std::string header{"\n"};
      header += section_indent;
      header += part;
      header += ":\n";
      from = text.find(header, from);
      ASSERT_NE(from, std::string::npos) << opt.key();
      section_indent += "  ";
    }
    auto line = "\n" + indent + std::string{opt.name()} + ": "
                + opt.default_value() + "\n";
    auto at = text.find(line, from);
    if (at == std::string::npos) {
      // A long list is rendered in block style, an item a line.
      std::string block = "\n" + indent + std::string{opt.name()} + ":\n";
      for (const auto& item : opt.render_items(options{}))
        block += indent + "  - " + item + "\n";
      at = text.find(block, from);
    }
    ASSERT_NE(at, std::string::npos) << opt.key();
    // The comment block right above, unwrapped, is the description, then
    // the default and the legal values.
    std::string comment;
    auto end = at;
    while (end > 0) {
      auto begin = text.rfind('\n', end - 1);
      auto line = text.substr(begin + 1, end - begin - 1);
      if (!line.starts_with(indent + "# "))
        break;
      comment.insert(0, line.substr(indent.size() + 2) + " ");
      end = begin;
    }
    ASSERT_FALSE(comment.empty()) << opt.key();
    comment.pop_back();
    EXPECT_EQ(comment, std::string{opt.description()} + " (default: "
                         + opt.default_value() + "; legal: " + opt.legal()
                         + ")");
  }
  for (const auto& sec : config::sections()) {
    if (sec.has_options)
      continue;
    std::string line{"\n"};
    line += sec.key;
    line += ": {}\n";
    EXPECT_NE(text.find(line), std::string::npos) << sec.key;
  }
  EXPECT_TRUE(text.starts_with("# Vigil reference configuration."));
  EXPECT_NE(text.find("vigild --print-config"), std::string::npos);
}

TEST(config_reference, reference_lines_fit_in_80_columns) {
  std::istringstream in{reference_config()};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    EXPECT_LE(line.size(), 80u) << "line " << n << ": " << line;
  }
}

} // namespace
} // namespace vigil
