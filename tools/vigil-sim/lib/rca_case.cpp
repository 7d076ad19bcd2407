#include "tools/vigil-sim/lib/rca_case.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"

namespace vigil::sim {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct name_hash {
  using is_transparent = void;
  size_t operator()(std::string_view x) const {
    return std::hash<std::string_view>{}(x);
  }
};

using name_table
  = std::unordered_map<std::string, uint32_t, name_hash, std::equal_to<>>;

caf::error bad(const std::string& path, size_t line, std::string what) {
  return caf::make_error(errc::malformed, std::move(what),
                         path + ":" + std::to_string(line));
}

// Reads the whole of `path` into `out`; false when it does not exist.
caf::expected<bool> slurp(const std::string& path, std::string& out) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return false;
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in)
    return caf::make_error(errc::not_found, "cannot open " + path);
  auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  out.resize(size);
  if (size > 0 && !in.read(out.data(), static_cast<std::streamsize>(size)))
    return caf::make_error(errc::malformed, "cannot read " + path);
  return true;
}

// Calls f(line, number) for every line of `text` (1-based numbers, "\r"
// stripped), stopping at the first error.
template <class F>
caf::error each_line(std::string_view text, F f) {
  size_t number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{}
                                         : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (auto err = f(line, number))
      return err;
  }
  return {};
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Parses a number of the format: decimal or exponent notation, or one of
// NaN/Inf spelled as the writers of CSV files tend to.
bool parse_number(std::string_view x, double& out) {
  if (x == "NaN" || x == "nan" || x == "NAN") {
    out = std::nan("");
    return true;
  }
  if (x == "Inf" || x == "+Inf" || x == "inf" || x == "+inf") {
    out = HUGE_VAL;
    return true;
  }
  if (x == "-Inf" || x == "-inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (!x.empty() && x.front() == '+')
    x.remove_prefix(1);
  auto res = std::from_chars(x.data(), x.data() + x.size(), out);
  return !x.empty() && res.ec == std::errc{} && res.ptr == x.data() + x.size();
}

uint32_t intern(name_table& table, std::vector<std::string>& names,
                std::string_view name) {
  if (auto i = table.find(name); i != table.end())
    return i->second;
  auto id = static_cast<uint32_t>(names.size());
  names.emplace_back(name);
  table.emplace(std::string{name}, id);
  return id;
}

// Splits a CSV line on commas into exactly `n` fields (no quoting: service
// and metric names never hold commas).
bool split(std::string_view line, std::string_view* fields, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    auto comma = line.find(',');
    if (i + 1 == n) {
      if (comma != std::string_view::npos)
        return false;
      fields[i] = line;
      return true;
    }
    if (comma == std::string_view::npos)
      return false;
    fields[i] = line.substr(0, comma);
    line.remove_prefix(comma + 1);
  }
  return true;
}

caf::error read_metrics(const std::string& path, rca_case& out) {
  std::string text;
  auto found = slurp(path, text);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return caf::make_error(errc::not_found, "the case has no metrics file",
                           path);
  name_table services;
  name_table metrics;
  out.metrics.reserve(text.size() / 40);
  bool header = false;
  return each_line(
    text, [&](std::string_view line, size_t number) -> caf::error {
      if (blank(line))
        return {};
      if (!header) {
        if (line != metrics_header)
          return bad(path, number,
                     "the header must be '" + std::string{metrics_header}
                       + "', not '" + std::string{line.substr(0, 80)} + "'");
        header = true;
        return {};
      }
      std::string_view f[4];
      if (!split(line, f, 4))
        return bad(path, number,
                   "expected 4 comma-separated fields "
                   "ts,service,metric,value");
      metric_row row;
      if (!parse_number(f[0], row.ts) || !std::isfinite(row.ts) || row.ts < 0)
        return bad(path, number,
                   "ts '" + std::string{f[0].substr(0, 40)}
                     + "' is not a Unix time in seconds");
      if (f[1].empty())
        return bad(path, number, "service is empty");
      if (f[2].empty())
        return bad(path, number, "metric is empty");
      if (!parse_number(f[3], row.value))
        return bad(path, number,
                   "value '" + std::string{f[3].substr(0, 40)}
                     + "' is not a number");
      row.service = intern(services, out.services, f[1]);
      row.metric = intern(metrics, out.metric_names, f[2]);
      row.line = static_cast<uint32_t>(number);
      out.metrics.push_back(row);
      return {};
    });
}

caf::error read_topology(const std::string& path, rca_case& out) {
  std::string text;
  auto found = slurp(path, text);
  if (!found)
    return std::move(found.error());
  out.has_topology = *found;
  if (!*found)
    return {};
  bool header = false;
  return each_line(
    text, [&](std::string_view line, size_t number) -> caf::error {
      if (blank(line))
        return {};
      if (!header) {
        if (line != topology_header)
          return bad(path, number,
                     "the header must be '" + std::string{topology_header}
                       + "'");
        header = true;
        return {};
      }
      std::string_view f[2];
      if (!split(line, f, 2))
        return bad(path, number,
                   "expected 2 comma-separated fields "
                   "caller,callee");
      if (f[0].empty() || f[1].empty())
        return bad(path, number, "caller and callee must not be empty");
      if (f[0] == f[1])
        return bad(path, number, "caller and callee are the same service");
      out.edges.push_back(
        {std::string{f[0]}, std::string{f[1]}, static_cast<uint32_t>(number)});
      return {};
    });
}

// The typed field readers of the JSON files; each names the field on error.
class fields {
public:
  fields(const std::string& path, size_t line, const json& obj)
    : path_(path), line_(line), obj_(obj) {}

  caf::error string(const char* key, std::string& out, bool required,
                    bool allow_empty = false) const {
    auto i = obj_.find(key);
    if (i == obj_.end() || i->is_null()) {
      if (required)
        return bad(path_, line_, std::string{key} + " is missing");
      out.clear();
      return {};
    }
    if (!i->is_string())
      return bad(path_, line_, std::string{key} + " must be a string");
    out = i->get<std::string>();
    if (out.empty() && required && !allow_empty)
      return bad(path_, line_, std::string{key} + " is empty");
    return {};
  }

  caf::error number(const char* key, double& out) const {
    auto i = obj_.find(key);
    if (i == obj_.end() || i->is_null())
      return bad(path_, line_, std::string{key} + " is missing");
    if (!i->is_number())
      return bad(path_, line_, std::string{key} + " must be a number");
    out = i->get<double>();
    if (!std::isfinite(out) || out < 0)
      return bad(path_, line_,
                 std::string{key} + " must be a finite, non-negative number");
    return {};
  }

private:
  const std::string& path_;
  size_t line_;
  const json& obj_;
};

caf::expected<json> parse_object(const std::string& path, size_t line,
                                 std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return bad(path, line, std::string{"not JSON: "} + e.what());
  }
  if (!doc.is_object())
    return bad(path, line, "expected a JSON object");
  return doc;
}

// Reads an optional JSON-lines file, calling `row` for each object.
template <class F>
caf::error read_jsonl(const std::string& path, F row) {
  std::string text;
  auto found = slurp(path, text);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return {};
  return each_line(
    text, [&](std::string_view line, size_t number) -> caf::error {
      if (blank(line))
        return {};
      auto doc = parse_object(path, number, line);
      if (!doc)
        return std::move(doc.error());
      return row(fields{path, number, *doc}, static_cast<uint32_t>(number));
    });
}

caf::error read_spans(const std::string& path, rca_case& out) {
  return read_jsonl(path, [&](const fields& x, uint32_t number) {
    span_row s;
    std::string status;
    caf::error err;
    if ((err = x.string("trace_id", s.trace_id, true))
        || (err = x.string("span_id", s.span_id, true))
        || (err = x.string("parent_span_id", s.parent_span_id, false))
        || (err = x.string("service", s.service, true))
        || (err = x.number("start", s.start)) || (err = x.number("end", s.end))
        || (err = x.string("status", status, true)))
      return err;
    if (s.end < s.start)
      return bad(path, number, "end is before start");
    if (status != "ok" && status != "error")
      return bad(path, number,
                 "status must be \"ok\" or \"error\", not \"" + status + "\"");
    s.error = status == "error";
    s.line = number;
    out.spans.push_back(std::move(s));
    return caf::error{};
  });
}

caf::error read_logs(const std::string& path, rca_case& out) {
  return read_jsonl(path, [&](const fields& x, uint32_t number) {
    log_row r;
    caf::error err;
    if ((err = x.number("ts", r.ts))
        || (err = x.string("service", r.service, true))
        || (err = x.string("line", r.line, true, true)))
      return err;
    r.line_no = number;
    out.logs.push_back(std::move(r));
    return caf::error{};
  });
}

caf::error read_changes(const std::string& path, rca_case& out) {
  return read_jsonl(path, [&](const fields& x, uint32_t number) {
    change_row c;
    caf::error err;
    if ((err = x.number("ts", c.ts))
        || (err = x.string("service", c.service, true))
        || (err = x.string("kind", c.kind, true))
        || (err = x.string("version", c.version, false)))
      return err;
    c.line = number;
    out.changes.push_back(std::move(c));
    return caf::error{};
  });
}

// Reads a one-object JSON file (case.json, truth.json).
caf::expected<json> read_object_file(const std::string& path) {
  std::string text;
  auto found = slurp(path, text);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return caf::make_error(errc::not_found, "missing file", path);
  return parse_object(path, 1, text);
}

std::string join(const std::string& dir, std::string_view file) {
  return (fs::path{dir} / file).string();
}

} // namespace

std::optional<uint32_t> rca_case::service_index(std::string_view name) const {
  for (size_t i = 0; i < services.size(); ++i)
    if (services[i] == name)
      return static_cast<uint32_t>(i);
  return std::nullopt;
}

caf::expected<case_truth> read_truth(const std::string& dir) {
  auto path = join(dir, case_files::truth);
  auto doc = read_object_file(path);
  if (!doc)
    return std::move(doc.error());
  fields x{path, 1, *doc};
  case_truth t;
  caf::error err;
  if ((err = x.string("root_cause_service", t.root_cause_service, true))
      || (err = x.string("fault", t.fault, true))
      || (err = x.number("inject_ts", t.inject_ts)))
    return err;
  return t;
}

caf::expected<rca_case> read_case(const std::string& dir, read_options opts) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return caf::make_error(errc::not_found, "not a case directory", dir);
  rca_case c;
  c.dir = dir;
  auto window_path = join(dir, case_files::window);
  auto window = read_object_file(window_path);
  if (!window)
    return std::move(window.error());
  {
    fields x{window_path, 1, *window};
    caf::error err;
    if ((err = x.number("start_ts", c.start_ts))
        || (err = x.number("end_ts", c.end_ts)))
      return err;
    if (c.end_ts <= c.start_ts)
      return bad(window_path, 1, "end_ts must be after start_ts");
  }
  if (auto err = read_metrics(join(dir, case_files::metrics), c))
    return err;
  if (auto err = read_topology(join(dir, case_files::topology), c))
    return err;
  if (!opts.metrics_only) {
    if (auto err = read_spans(join(dir, case_files::traces), c))
      return err;
    if (auto err = read_logs(join(dir, case_files::logs), c))
      return err;
    if (auto err = read_changes(join(dir, case_files::changes), c))
      return err;
  }
  if (opts.with_truth && fs::exists(join(dir, case_files::truth), ec)) {
    auto t = read_truth(dir);
    if (!t)
      return std::move(t.error());
    c.truth = std::move(*t);
  }
  return c;
}

} // namespace vigil::sim
