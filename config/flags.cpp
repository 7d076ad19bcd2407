#include "config/flags.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include "config/schema.hpp"
#include "config/source.hpp"
#include "config/suggest.hpp"

namespace vigil {

namespace {

/// One flag of vigild.
struct flag_spec {
  /// The flag as typed, e.g. "--http".
  std::string_view name;
  /// The placeholder of its value; empty for switches.
  std::string_view metavar;
  /// The option it sets; empty for --config and switches.
  std::string_view key;
  /// One sentence for --help.
  std::string_view help;
  /// Where a value flag stores its text.
  std::optional<std::string> flags::*value = nullptr;
  /// Where a switch stores that it was given.
  bool flags::*toggle = nullptr;
};

constexpr std::array<flag_spec, 11> flag_table{{
  {"--config", "FILE", "",
   "Read options from FILE (YAML); without it, the built-in defaults apply.",
   &flags::config},
  {"--data-dir", "DIR", "node.data_dir",
   "Where RocksDB, the admin token and the node id live.", &flags::data_dir},
  {"--http", "HOST:PORT", "node.http",
   "Address of the HTTP front door; port 0 picks any free port.",
   &flags::http},
  {"--cluster", "HOST:PORT", "node.cluster",
   "CAF endpoint for the console and other nodes; port 0 picks any free "
   "port.",
   &flags::cluster},
  {"--node-id", "ID", "node.id",
   "The node's name in the cluster; empty: generated on first start.",
   &flags::node_id},
  {"--join", "HOST:PORT[,HOST:PORT...]", "cluster.join",
   "Cluster endpoints of nodes to join; none: a single-node cluster. "
   "Repeated flags add up; an empty value clears the list.",
   &flags::join},
  {"--playbooks", "DIR", "node.playbooks_dir",
   "Directory of playbook YAML files.", &flags::playbooks},
  {"--log-level", "trace|debug|info|warn|error", "node.log_level",
   "Least severe log messages written.", &flags::log_level},
  {"--print-config", "", "",
   "Print the reference configuration (every option at its default, with "
   "comments) and exit.",
   nullptr, &flags::print_config},
  {"--version", "", "", "Print the version and exit.", nullptr,
   &flags::version},
  {"--help", "", "", "Print this help and exit (also -h).", nullptr,
   &flags::help},
}};

const flag_spec* find_flag(std::string_view name) {
  for (const auto& f : flag_table)
    if (f.name == name)
      return &f;
  return nullptr;
}

std::vector<std::string_view> flag_names() {
  std::vector<std::string_view> out;
  out.reserve(flag_table.size());
  for (const auto& f : flag_table)
    out.push_back(f.name);
  return out;
}

config_error flag_error(std::string_view flag, std::string message,
                        std::string legal = {}) {
  return config_error{std::string{command_line}, 0, 0, std::string{flag},
                      std::move(message), std::move(legal)};
}

std::string legal_value(const flag_spec& f) {
  if (auto opt = config::find_option(f.key))
    return opt->legal();
  return std::string{f.metavar};
}

std::string_view trim(std::string_view x) {
  auto begin = x.find_first_not_of(' ');
  if (begin == std::string_view::npos)
    return {};
  auto end = x.find_last_not_of(' ');
  return x.substr(begin, end - begin + 1);
}

// Checks each value flag against its option and stores it into `x`.
void read_flags(const flags& f, options& x, config::tracker& t,
                std::vector<config_error>& errors) {
  for (const auto& spec : flag_table) {
    if (spec.key.empty() || !spec.value || !(f.*spec.value))
      continue;
    const auto& text = *(f.*spec.value);
    const auto* opt = config::find_option(spec.key);
    assert(opt != nullptr); // flag_table names only schema keys
    config::raw_value raw;
    if (opt->kind() == config::value_kind::string_list) {
      raw.form = config::raw_value::shape::sequence;
      bool bad = false;
      // An empty value means "no items", so --join= overrides a file's seeds.
      for (size_t pos = 0; !text.empty() && pos <= text.size();) {
        auto comma = text.find(',', pos);
        if (comma == std::string::npos)
          comma = text.size();
        auto item = trim(std::string_view{text}.substr(pos, comma - pos));
        if (item.empty()) {
          errors.push_back(flag_error(spec.name,
                                      "'" + text + "' has an empty item",
                                      opt->legal()));
          bad = true;
          break;
        }
        raw.items.push_back({std::string{item}, {}});
        pos = comma + 1;
      }
      if (bad) {
        t.refused.insert(std::string{spec.key});
        continue;
      }
    } else {
      raw = config::raw_value::scalar(text);
    }
    if (auto err = opt->assign(x, raw)) {
      errors.push_back(
        flag_error(spec.name, std::move(err->message), opt->legal()));
      t.refused.insert(std::string{spec.key});
      continue;
    }
    t.refused.erase(std::string{spec.key});
    t.set_by[std::string{spec.key}]
      = config::origin{std::string{command_line}, {}, std::string{spec.name}};
  }
}

} // namespace

std::string flags_result::message() const {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty())
      out += '\n';
    out += e.to_string();
  }
  return out;
}

flags_result parse_flags(int argc, const char* const* argv) {
  flags_result result;
  auto& out = result.value;
  auto fail = [&](std::string_view flag, std::string message,
                  std::string legal = {}) {
    result.errors.push_back(
      flag_error(flag, std::move(message), std::move(legal)));
  };
  auto names = flag_names();
  auto is_flag_like = [](std::string_view x) { return x.starts_with("--"); };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] ? argv[i] : "";
    if (arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("-") || arg == "-") {
      fail({}, "unexpected argument '" + std::string{arg}
                 + "'; vigild takes only flags (see --help)");
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    std::optional<std::string> inline_value;
    if (eq != std::string_view::npos)
      inline_value = std::string{arg.substr(eq + 1)};
    const auto* spec = find_flag(name);
    if (!spec) {
      // Compare without dashes so "-config" and "--confg" find "--config".
      auto bare = name.substr(std::min(name.find_first_not_of('-'),
                                       name.size()));
      std::vector<std::string_view> bare_names;
      bare_names.reserve(names.size());
      for (auto candidate : names)
        bare_names.push_back(candidate.substr(2));
      std::vector<std::string> near;
      for (auto x : config::nearest(bare, bare_names,
                                    config::typo_tolerance(bare)))
        near.push_back("--" + std::string{x});
      std::vector<std::string_view> near_views{near.begin(), near.end()};
      auto msg = std::string{"unknown flag"};
      if (!near_views.empty())
        msg += "; " + config::did_you_mean(near_views);
      fail(name, std::move(msg), "see --help");
      // Skip what is most likely the unknown flag's value, so one mistake
      // gives one error.
      if (!inline_value && i + 1 < argc && argv[i + 1]
          && !std::string_view{argv[i + 1]}.starts_with("-"))
        ++i;
      continue;
    }
    if (spec->toggle) {
      if (inline_value)
        fail(spec->name, "takes no value");
      else
        out.*spec->toggle = true;
      continue;
    }
    std::string value;
    if (inline_value) {
      value = std::move(*inline_value);
    } else if (i + 1 < argc && argv[i + 1] && !is_flag_like(argv[i + 1])) {
      value = argv[++i];
    } else {
      fail(spec->name, "needs a value", legal_value(*spec));
      continue;
    }
    auto& slot = out.*spec->value;
    if (spec->value == &flags::join && slot && !slot->empty()
        && !value.empty())
      *slot += "," + value;
    else
      slot = std::move(value);
  }
  return result;
}

load_result apply_flags(const flags& f, options base) {
  load_result result{std::move(base), {}};
  config::tracker t;
  read_flags(f, result.opts, t, result.errors);
  config::check_rules(result.opts, t, std::string{command_line},
                      result.errors);
  return result;
}

load_result resolve_options(const flags& f) {
  load_result result;
  config::tracker t;
  std::string source{command_line};
  if (f.config) {
    if (f.config->empty()) {
      result.errors.push_back(
        flag_error("--config", "needs a file name", "FILE"));
    } else {
      source = *f.config;
      std::string text;
      if (auto err = config::read_text_file(*f.config, text))
        result.errors.push_back(
          config_error{*f.config, 0, 0, {}, std::move(*err), {}});
      else
        config::read_yaml(text, *f.config, result.opts, t, result.errors);
    }
  }
  read_flags(f, result.opts, t, result.errors);
  config::check_rules(result.opts, t, source, result.errors);
  return result;
}

std::string usage() {
  std::string out
    = "Usage: vigild [--config FILE] [--data-dir DIR] [--http HOST:PORT]\n"
      "              [--cluster HOST:PORT] [--node-id ID]\n"
      "              [--join HOST:PORT[,HOST:PORT...]] [--playbooks DIR]\n"
      "              [--log-level trace|debug|info|warn|error]\n"
      "\n"
      "Runs one Vigil node: ingest, detection, incidents, remediation.\n"
      "\n"
      "Flags:\n";
  for (const auto& f : flag_table) {
    out += "  ";
    out += f.name;
    if (!f.metavar.empty()) {
      out += ' ';
      out += f.metavar;
    }
    out += '\n';
    std::string help{f.help};
    if (auto opt = config::find_option(f.key))
      help += " Sets " + std::string{f.key}
              + "; default: " + opt->default_value() + ".";
    out += config::wrap(help, 6, "");
  }
  out += "\n";
  out += config::wrap("Flags override the config file, which overrides the "
                      "built-in defaults. Both --flag VALUE and "
                      "--flag=VALUE work. vigild --print-config shows every "
                      "option with its default and legal values.",
                      0, "");
  return out;
}

} // namespace vigil
