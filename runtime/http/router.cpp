#include "runtime/http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/beast/http/verb.hpp>

namespace vigil::http {

namespace {

// Splits "/a/b" into {"a", "b"}; "/" gives {""} and "/a/" gives {"a", ""}, so
// a trailing slash is significant (as in Prometheus' API).
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> result;
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    result.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      return result;
    path.remove_prefix(slash + 1);
  }
}

} // namespace

void router::add(verb method, std::string pattern, route_options options,
                 handler fn) {
  auto fail = [&](const char* why) {
    throw std::invalid_argument("http route " + pattern + ": " + why);
  };
  if (method == verb::unknown)
    fail("unknown method");
  if (pattern.empty() || pattern.front() != '/')
    fail("pattern must start with '/'");
  if (pattern.find_first_of("?#") != std::string::npos)
    fail("pattern must not hold a query or fragment");
  if (!fn)
    fail("no handler");
  route r{method, pattern, {}, std::move(options), std::move(fn)};
  for (auto part : split_path(pattern)) {
    segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      seg.is_param = true;
      seg.text = std::string{part.substr(1, part.size() - 2)};
      if (seg.text.empty() || seg.text.find_first_of("{}") != std::string::npos)
        fail("bad parameter name");
      for (auto& other : r.segments)
        if (other.is_param && other.text == seg.text)
          fail("parameter name used twice");
    } else {
      if (part.find_first_of("{}") != std::string_view::npos)
        fail("braces are only allowed around a whole segment");
      seg.text = std::string{part};
    }
    r.segments.push_back(std::move(seg));
  }
  // Two patterns that differ only in parameter names match the same paths;
  // the second could never be reached, which is a wiring bug.
  auto same_shape = [&](const route& other) {
    if (other.method != method || other.segments.size() != r.segments.size())
      return false;
    for (size_t i = 0; i < r.segments.size(); ++i) {
      auto& a = other.segments[i];
      auto& b = r.segments[i];
      if (a.is_param != b.is_param || (!a.is_param && a.text != b.text))
        return false;
    }
    return true;
  };
  if (std::any_of(routes_.begin(), routes_.end(), same_shape))
    fail("already added for this method");
  if (r.options.endpoint.empty())
    r.options.endpoint = r.pattern;
  routes_.push_back(std::move(r));
}

route_match router::match(verb method, std::string_view raw_path) const {
  route_match result;
  auto raw = split_path(raw_path);
  std::vector<std::string> parts;
  parts.reserve(raw.size());
  for (auto part : raw)
    parts.push_back(percent_decode(part));
  const route* best = nullptr;
  auto path_matches = [&](const route& r) {
    if (r.segments.size() != parts.size())
      return false;
    for (size_t i = 0; i < parts.size(); ++i)
      if (!r.segments[i].is_param && r.segments[i].text != parts[i])
        return false;
    return true;
  };
  // True when `a` is more specific than `b`: a literal where `b` has a
  // parameter at the first position where they differ.
  auto more_specific = [](const route& a, const route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i)
      if (a.segments[i].is_param != b.segments[i].is_param)
        return !a.segments[i].is_param;
    return false;
  };
  for (auto& r : routes_) {
    if (!path_matches(r))
      continue;
    if (r.method == method) {
      if (best == nullptr || more_specific(r, *best))
        best = &r;
    } else if (std::find(result.allowed.begin(), result.allowed.end(), r.method)
               == result.allowed.end()) {
      result.allowed.push_back(r.method);
    }
  }
  if (best != nullptr) {
    result.result = route_match::kind::found;
    result.options = &best->options;
    result.fn = &best->fn;
    result.allowed.clear();
    for (size_t i = 0; i < parts.size(); ++i)
      if (best->segments[i].is_param)
        result.params.emplace(best->segments[i].text, std::move(parts[i]));
    return result;
  }
  result.result = result.allowed.empty()
                    ? route_match::kind::not_found
                    : route_match::kind::method_not_allowed;
  return result;
}

} // namespace vigil::http
