#include "config/loader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/schema.hpp"
#include "config/source.hpp"
#include "config/suggest.hpp"
#include "config/yaml_support.hpp"
#include "messages/errc.hpp"

namespace vigil {

namespace config {

namespace {

// The names valid directly inside the map at `prefix` ("" = top level).
std::string names_in(std::string_view prefix) {
  std::string out;
  for (auto key : all_keys()) {
    if (parent_key(key) != prefix)
      continue;
    if (!out.empty())
      out += ", ";
    out += leaf_key(key);
  }
  return out;
}


class reader {
public:
  reader(const std::string& name, options& x, tracker& t,
         std::vector<config_error>& errors)
    : name_(name), opts_(x), tracker_(t), errors_(errors) {
    // nop
  }

  void read_map(const YAML::Node& map, const std::string& prefix) {
    std::map<std::string, position, std::less<>> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      YAML::Node k = it->first; // it-> returns a temporary proxy
      YAML::Node v = it->second;
      auto key_pos = position_of(k);
      if (!k.IsScalar()) {
        error(key_pos, prefix, "keys must be plain names, got "
                                 + std::string{node_kind(k)},
              names_in(prefix));
        continue;
      }
      const auto& name = k.Scalar();
      std::string key = prefix;
      if (!key.empty())
        key += '.';
      key += name;
      if (name.find('.') != std::string::npos) {
        error(key_pos, key,
              "dotted keys are not read; nest the key under its section "
              "(e.g. ingest: then max_body_bytes: on the next line, "
              "indented)",
              names_in(prefix));
        continue;
      }
      if (auto [first, added] = seen.emplace(name, key_pos); !added) {
        error(key_pos, key,
              "is given twice (first at line "
                + std::to_string(first->second.line) + ")",
              "each key once");
        continue;
      }
      if (auto sec = find_section(key))
        read_section(*sec, key, v);
      else if (auto opt = find_option(key))
        read_option(*opt, key, key_pos, v);
      else
        unknown_key(key, prefix, key_pos);
    }
  }

private:
  void error(position pos, std::string key, std::string message,
             std::string legal) {
    errors_.push_back(config_error{name_, pos.line, pos.column,
                                   std::move(key), std::move(message),
                                   std::move(legal)});
  }

  void read_section(const section& sec, const std::string& key,
                    const YAML::Node& v) {
    // A bare "node:" is an empty section, like "node: {}".
    if (v.IsNull())
      return;
    if (!v.IsMap()) {
      error(position_of(v), key,
            "expected a map of options, got " + std::string{node_kind(v)},
            sec.has_options ? "the keys " + names_in(key) : "{}");
      return;
    }
    if (sec.has_options) {
      read_map(v, key);
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto inner = it->first.IsScalar() ? key + "." + it->first.Scalar() : key;
      auto msg = "the " + key
                 + " section has no options in this version; they arrive "
                   "with the feature";
      auto near = suggest_keys(inner);
      if (!near.empty())
        msg += "; " + did_you_mean(near);
      error(position_of(it->first), inner, msg, "{}");
    }
  }

  void read_option(const option& opt, const std::string& key,
                   position key_pos, const YAML::Node& v) {
    raw_value raw;
    raw.pos = position_of(v);
    switch (v.Type()) {
      case YAML::NodeType::Scalar:
        raw.form = raw_value::shape::scalar;
        raw.text = v.Scalar();
        break;
      case YAML::NodeType::Sequence:
        raw.form = raw_value::shape::sequence;
        for (const auto& item : v) {
          if (!item.IsScalar()) {
            // yaml-cpp gives an empty item the next token's position.
            auto pos = item.IsNull() ? raw.pos : position_of(item);
            error(pos, key,
                  "list items must be single values, got "
                    + std::string{node_kind(item)},
                  opt.legal());
            tracker_.refused.insert(key);
            return;
          }
          raw.items.push_back({item.Scalar(), position_of(item)});
        }
        break;
      case YAML::NodeType::Map:
        raw.form = raw_value::shape::map;
        break;
      default:
        // yaml-cpp gives a missing value the position of the next token;
        // the key is where the reader should look.
        raw.form = raw_value::shape::null;
        raw.pos = key_pos;
        break;
    }
    if (auto err = opt.assign(opts_, raw)) {
      error(err->pos, key, std::move(err->message), opt.legal());
      tracker_.refused.insert(key);
      return;
    }
    tracker_.refused.erase(key);
    tracker_.set_by[key] = origin{name_, key_pos, {}};
  }

  void unknown_key(const std::string& key, const std::string& prefix,
                   position key_pos) {
    std::string msg = prefix.empty() ? "unknown section" : "unknown key";
    auto near = suggest_keys(key);
    if (!near.empty())
      msg += "; " + did_you_mean(near);
    error(key_pos, key, std::move(msg),
          (prefix.empty() ? "the sections " : "the keys of " + prefix + ": ")
            + names_in(prefix));
  }

  const std::string& name_;
  options& opts_;
  tracker& tracker_;
  std::vector<config_error>& errors_;
};

// -- rendering -----------------------------------------------------------------

// Appends `text` as '#' comment lines at `indent`.
void comment(std::string& out, size_t indent, std::string_view text) {
  out += wrap(text, indent, "# ");
}

class renderer {
public:
  renderer(const options& x, bool comments, bool redact = false)
    : opts_(x), comments_(comments), redact_(redact) {
    // nop
  }

  std::string run() {
    bool first = true;
    for (const auto& sec : sections()) {
      if (!parent_key(sec.key).empty())
        continue;
      if (comments_ && !first)
        out_ += '\n';
      first = false;
      emit_section(sec, 0);
    }
    return std::move(out_);
  }

private:
  void emit_section(const section& sec, size_t indent) {
    auto name = leaf_key(sec.key);
    if (!sec.has_options) {
      if (comments_)
        comment(out_, indent,
                std::string{sec.description}
                  + " Its options arrive with the feature; this version "
                    "accepts only an empty map.");
      out_.append(indent, ' ');
      out_ += std::string{name} + ": {}\n";
      return;
    }
    if (comments_)
      comment(out_, indent, sec.description);
    out_.append(indent, ' ');
    out_ += std::string{name} + ":\n";
    bool first = true;
    auto separate = [&] {
      if (comments_ && !first)
        out_ += '\n';
      first = false;
    };
    for (const auto& opt : schema()) {
      if (opt.section() != sec.key)
        continue;
      separate();
      if (comments_)
        comment(out_, indent + 2,
                std::string{opt.description()} + " (default: "
                  + opt.default_value() + "; legal: " + opt.legal() + ")");
      auto value = opt.render(opts_);
      if (redact_ && opt.secret() && value != "\"\"")
        value = "\"<redacted>\"";
      out_.append(indent + 2, ' ');
      auto items = opt.render_items(opts_);
      if (indent + 4 + opt.name().size() + value.size() > 80
          && !items.empty()) {
        // A list too wide for one line goes in block style, an item a line.
        out_ += std::string{opt.name()} + ":\n";
        for (const auto& item : items) {
          out_.append(indent + 4, ' ');
          out_ += "- " + item + "\n";
        }
        continue;
      }
      out_ += std::string{opt.name()} + ": " + value + "\n";
    }
    for (const auto& child : sections()) {
      if (parent_key(child.key) != sec.key)
        continue;
      separate();
      emit_section(child, indent + 2);
    }
  }

  const options& opts_;
  bool comments_;
  bool redact_;
  std::string out_;
};

constexpr std::string_view reference_header = R"(# Vigil reference configuration.
#
# Every option at its built-in default: this file mirrors the defaults compiled
# into vigild, so loading it changes nothing. Copy the keys you want to change
# into your own file; flags given to vigild override the file. Regenerate it
# with `vigild --print-config`; a unit test fails when it drifts from the code.
#
# Durations: 250ms, 30s, 5m, 1h, 1d, or combined such as 1h30m.
# Byte sizes: a byte count, or 64KiB, 16MiB, 1GiB (powers of 1024) and 10kB,
# 500MB, 1GB (powers of 1000).
# Unknown keys are errors, reported with the nearest valid key.

)";

} // namespace

void read_yaml(std::string_view yaml, const std::string& name, options& x,
               tracker& t, std::vector<config_error>& errors) {
  try {
    auto docs = YAML::LoadAll(std::string{yaml});
    // No document at all: an empty file or one with only comments.
    if (docs.empty())
      return;
    if (docs.size() > 1) {
      auto pos = position_of(docs[1]);
      errors.push_back(config_error{
        name, pos.line, pos.column, {},
        "holds " + std::to_string(docs.size())
          + " YAML documents; a config file holds one",
        "one YAML document (no second ---)"});
      return;
    }
    const auto& root = docs.front();
    if (root.IsNull())
      return;
    if (!root.IsMap()) {
      auto pos = position_of(root);
      errors.push_back(config_error{
        name, pos.line, pos.column, {},
        "the top level must be a map of sections, got "
          + std::string{node_kind(root)},
        "the sections " + names_in("")});
      return;
    }
    reader{name, x, t, errors}.read_map(root, "");
  } catch (const YAML::Exception& e) {
    auto pos = position_of(e.mark);
    errors.push_back(config_error{name, pos.line, pos.column, {},
                                  "YAML syntax error: " + e.msg
                                    + syntax_hint(yaml, pos.line),
                                  {}});
  } catch (const std::exception& e) {
    errors.push_back(config_error{name, 0, 0, {},
                                  std::string{"cannot read: "} + e.what(),
                                  {}});
  }
}

std::optional<std::string> read_text_file(const std::string& path,
                                          std::string& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return "is a directory, not a config file";
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::string{"cannot open: "} + std::strerror(errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return std::string{"cannot read: "} + std::strerror(errno);
  out = std::move(text).str();
  return std::nullopt;
}

std::string wrap(std::string_view text, size_t indent, std::string_view lead,
                 size_t width) {
  std::string out;
  std::string line;
  auto flush = [&] {
    out.append(indent, ' ');
    out += line.empty() ? lead.substr(0, lead.find_last_not_of(' ') + 1)
                        : lead;
    out += line;
    out += '\n';
    line.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(' ', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty())
      continue;
    // A word longer than the line stays whole on a line of its own.
    if (!line.empty()
        && indent + lead.size() + line.size() + 1 + word.size() > width)
      flush();
    if (!line.empty())
      line += ' ';
    line += word;
  }
  if (!line.empty() || out.empty())
    flush();
  return out;
}

void check_rules(const options& x, const tracker& t,
                 const std::string& fallback,
                 std::vector<config_error>& errors) {
  // A value no source set came with the base; check it too, so that ok()
  // always means the options are legal.
  for (const auto& opt : schema()) {
    auto key = std::string{opt.key()};
    if (t.set_by.contains(key) || t.refused.contains(key))
      continue;
    if (auto err = opt.check(x))
      errors.push_back(config_error{fallback, 0, 0, key, std::move(*err),
                                    opt.legal()});
  }
  for (const auto& rule : cross_checks()) {
    if (t.refused.contains(rule.earlier) || t.refused.contains(rule.later))
      continue;
    auto err = rule.check(x);
    if (!err)
      continue;
    // Point at the later key when this source set it, else at the earlier
    // one: that is the text the reader must look at.
    const origin* where = nullptr;
    if (auto i = t.set_by.find(rule.later); i != t.set_by.end())
      where = &i->second;
    else if (auto j = t.set_by.find(rule.earlier); j != t.set_by.end())
      where = &j->second;
    config_error e;
    e.file = where ? where->file : fallback;
    if (where) {
      e.line = where->pos.line;
      e.column = where->pos.column;
    }
    e.key = where && !where->flag.empty() ? where->flag
                                          : std::string{rule.later};
    e.message = std::move(*err);
    e.legal = std::string{rule.legal};
    errors.push_back(std::move(e));
  }
}

} // namespace config

std::string config_error::to_string() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) {
      out += ':' + std::to_string(line);
      if (column > 0)
        out += ':' + std::to_string(column);
    }
    out += ": ";
  }
  if (!key.empty())
    out += key + ": ";
  out += message;
  if (!legal.empty())
    out += " (legal: " + legal + ")";
  return out;
}

std::string load_result::message() const {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty())
      out += '\n';
    out += e.to_string();
  }
  return out;
}

caf::error load_result::to_error() const {
  if (ok())
    return caf::error{};
  return caf::error{errc::invalid_config, message()};
}

load_result load_config_file(const std::string& path, options base) {
  std::string text;
  if (auto err = config::read_text_file(path, text))
    return load_result{std::move(base),
                       {config_error{path, 0, 0, {}, std::move(*err), {}}}};
  return load_config_string(text, path, std::move(base));
}

load_result load_config_string(std::string_view yaml, const std::string& name,
                               options base) {
  load_result result{std::move(base), {}};
  config::tracker t;
  config::read_yaml(yaml, name, result.opts, t, result.errors);
  config::check_rules(result.opts, t, name, result.errors);
  return result;
}

std::vector<config_error> validate(const options& x) {
  std::vector<config_error> errors;
  config::check_rules(x, config::tracker{}, {}, errors);
  return errors;
}

std::string to_yaml(const options& x, bool redact_secrets) {
  return config::renderer{x, false, redact_secrets}.run();
}

std::string reference_config() {
  return std::string{config::reference_header}
         + config::renderer{options{}, true}.run();
}

} // namespace vigil
