#include "tests/unit/codec/test_util.hpp"

#include <cstdio>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/support.hpp"

namespace vigil::codec::test {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

} // namespace

expected_remote_write
read_remote_write_expectation(const std::string& name) {
  expected_remote_write result;
  auto lines = lines_of(vigil::test::read_fixture(name + ".decoded.txt"));
  if (lines.empty()) {
    ADD_FAILURE() << "empty expectation " << name;
    return result;
  }
  std::smatch m;
  std::regex header{R"((\d+) series, (\d+) samples \((\d+) staleness markers\), (\d+) metadata)"};
  if (!std::regex_search(lines[0], m, header)) {
    ADD_FAILURE() << "bad header in " << name << ": " << lines[0];
    return result;
  }
  result.series = std::stoul(m[1]);
  result.samples = std::stoul(m[2]);
  result.stale = std::stoul(m[3]);
  result.metadata = std::stoul(m[4]);
  std::regex sample{R"(\(([^,()]+), (-?\d+)\))"};
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.rfind("   META ", 0) == 0)
      continue;
    auto pos = line.rfind(" [(");
    if (line.rfind("   ", 0) != 0 || pos == std::string::npos) {
      ADD_FAILURE() << "bad line " << i + 1 << " in " << name;
      continue;
    }
    expected_series s;
    s.text = line.substr(3, pos - 3);
    auto rest = line.substr(pos + 1);
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), sample);
         it != std::sregex_iterator(); ++it)
      s.samples.push_back({(*it)[1], std::stoll((*it)[2])});
    result.lines.push_back(std::move(s));
  }
  return result;
}

// -- a small reader of Python literals ----------------------------------------

namespace {

struct py_reader {
  std::string_view s;
  size_t pos = 0;
  bool ok = true;

  void ws() {
    while (pos < s.size() && s[pos] == ' ')
      ++pos;
  }

  bool eat(char c) {
    ws();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  std::string string_lit() {
    char q = s[pos++];
    std::string out;
    while (pos < s.size() && s[pos] != q) {
      if (s[pos] == '\\' && pos + 1 < s.size()) {
        char e = s[pos + 1];
        pos += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
            out += '\\';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          default:
            out += '\\';
            out += e;
        }
        continue;
      }
      out += s[pos++];
    }
    if (pos >= s.size())
      ok = false;
    else
      ++pos;
    return out;
  }

  pyval value() {
    ws();
    pyval v;
    if (pos >= s.size()) {
      ok = false;
      return v;
    }
    char c = s[pos];
    if (c == '\'' || c == '"') {
      v.kind = pyval::str;
      v.text = string_lit();
    } else if (c == '[') {
      ++pos;
      v.kind = pyval::list;
      if (!eat(']')) {
        do
          v.items.push_back(value());
        while (ok && eat(','));
        if (!eat(']'))
          ok = false;
      }
    } else if (c == '{') {
      ++pos;
      v.kind = pyval::dict;
      if (!eat('}')) {
        do {
          ws();
          auto key = value();
          if (!eat(':'))
            ok = false;
          v.entries.emplace_back(key.text, value());
        } while (ok && eat(','));
        if (!eat('}'))
          ok = false;
      }
    } else if (s.substr(pos, 4) == "True" || s.substr(pos, 5) == "False") {
      v.kind = pyval::boolean;
      v.text = s[pos] == 'T' ? "true" : "false";
      pos += s[pos] == 'T' ? 4 : 5;
    } else if (s.substr(pos, 4) == "None") {
      pos += 4;
    } else {
      auto start = pos;
      while (pos < s.size()
             && (std::isdigit(static_cast<unsigned char>(s[pos]))
                 || s[pos] == '-' || s[pos] == '+' || s[pos] == '.'
                 || s[pos] == 'e'))
        ++pos;
      v.text = std::string{s.substr(start, pos - start)};
      v.kind = v.text.find_first_of(".e") == std::string::npos
                 ? pyval::integer
                 : pyval::real;
      if (v.text.empty())
        ok = false;
    }
    return v;
  }
};

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

} // namespace

const pyval& pyval::at(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key)
      return v;
  ADD_FAILURE() << "no key " << key;
  static pyval missing;
  return missing;
}

std::string pyval::as_text() const {
  return kind == str || kind == integer || kind == real || kind == boolean
           ? text
           : as_json();
}

std::string pyval::as_json() const {
  std::string out;
  switch (kind) {
    case str:
      json_string(out, text);
      break;
    case integer:
    case real:
    case boolean:
      out = text;
      break;
    case list:
      out += '[';
      for (size_t i = 0; i < items.size(); ++i)
        out += (i ? "," : "") + items[i].as_json();
      out += ']';
      break;
    case dict:
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i)
          out += ',';
        json_string(out, entries[i].first);
        out += ':';
        out += entries[i].second.as_json();
      }
      out += '}';
      break;
    default:
      out = "null";
  }
  return out;
}

pyval parse_python(std::string_view text) {
  py_reader r{text};
  auto v = r.value();
  r.ws();
  if (!r.ok || r.pos != text.size())
    ADD_FAILURE() << "cannot read Python literal: " << text;
  return v;
}

std::vector<expected_span> read_trace_expectation(const std::string& name) {
  std::vector<expected_span> result;
  auto lines = lines_of(vigil::test::read_fixture(name + ".decoded.txt"));
  std::regex resource{R"(^  resource service.name=(\S+) )"};
  std::regex span{
    R"(^    trace=(\w+) span=(\w+) parent=(\S+)\s+(\w+)\s+(.*?)\s+(\d+\.\d)ms status=(\w+)(?: '(.*)')? flags=\S+ events=\[(.*?)\] attrs=\d+ (\{.*\})$)"};
  std::string service;
  for (const auto& line : lines) {
    std::smatch m;
    if (std::regex_search(line, m, resource)) {
      service = m[1];
    } else if (std::regex_match(line, m, span)) {
      expected_span s;
      s.service = service;
      s.trace = m[1];
      s.span = m[2];
      s.parent = m[3] == "-" ? "" : std::string{m[3]};
      s.kind = m[4];
      s.name = m[5];
      s.duration_ms = m[6];
      s.status = m[7];
      s.status_message = m[8];
      auto events = std::string{m[9]};
      s.events = events.empty() ? 0 : parse_python("[" + events + "]").items.size();
      s.attrs = parse_python(std::string{m[10]});
      result.push_back(std::move(s));
    }
  }
  return result;
}

std::string ms_one_decimal(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(ns) / 1e6);
  return buf;
}

} // namespace vigil::codec::test
