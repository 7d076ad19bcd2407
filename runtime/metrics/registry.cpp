#include "runtime/metrics/registry.hpp"

#include <cmath>
#include <charconv>
#include <cstdio>

namespace vigil::metrics {

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)),
    counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double x) {
  size_t i = 0;
  while (i < bounds_.size() && x > bounds_[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(x, std::memory_order_relaxed);
}

double histogram::quantile(double q) const {
  auto total = count();
  if (total == 0)
    return 0;
  auto rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    auto n = bucket(i);
    if (static_cast<double>(seen + n) >= rank && n > 0) {
      if (i == bounds_.size())
        return bounds_.empty() ? 0 : bounds_.back();
      double lo = i == 0 ? 0 : bounds_[i - 1];
      double hi = bounds_[i];
      double within = (rank - static_cast<double>(seen))
                      / static_cast<double>(n);
      return lo + (hi - lo) * within;
    }
    seen += n;
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10,  30};
}

family<counter>& registry::counters(const std::string& name,
                                    const std::string& help,
                                    std::vector<std::string> labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = counters_[name];
  if (!slot)
    slot = std::make_unique<family<counter>>(
      name, help, std::move(labels), [] { return std::make_unique<counter>(); });
  return *slot;
}

family<gauge>& registry::gauges(const std::string& name,
                                const std::string& help,
                                std::vector<std::string> labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = gauges_[name];
  if (!slot)
    slot = std::make_unique<family<gauge>>(
      name, help, std::move(labels), [] { return std::make_unique<gauge>(); });
  return *slot;
}

family<histogram>& registry::histograms(const std::string& name,
                                        const std::string& help,
                                        std::vector<std::string> labels,
                                        const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = histograms_[name];
  if (!slot)
    slot = std::make_unique<family<histogram>>(
      name, help, std::move(labels),
      [bounds] { return std::make_unique<histogram>(bounds); });
  return *slot;
}

void registry::computed_gauge(const std::string& name, const std::string& help,
                              std::vector<std::string> labels, sampler fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  computed_[name] = computed{help, std::move(labels), std::move(fn)};
}

namespace {

void append_escaped(std::string& out, std::string_view x, bool help) {
  for (char c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && !help)
      out += "\\\"";
    else
      out += c;
  }
}

void append_number(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
  } else if (std::isinf(x)) {
    out += x > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest text that reads back as the same double.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
    out.append(buf, ec == std::errc{} ? end : buf);
  }
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values,
                   std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  bool any = false;
  for (size_t i = 0; i < names.size(); ++i) {
    out += any ? ',' : '{';
    any = true;
    out += names[i];
    out += "=\"";
    append_escaped(out, i < values.size() ? values[i] : "", false);
    out += '"';
  }
  if (!extra_name.empty()) {
    out += any ? ',' : '{';
    any = true;
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  if (any)
    out += '}';
}

void append_header(std::string& out, const std::string& name,
                   const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, true);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

} // namespace

std::string registry::expose() const {
  // Render in name order across kinds, as Prometheus prints them.
  std::map<std::string, std::function<void(std::string&)>> parts;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [name, fam] : counters_) {
    auto* f = fam.get();
    parts[name] = [f](std::string& out) {
      append_header(out, f->name(), f->help(), "counter");
      f->each([&](const std::vector<std::string>& key, const counter& c) {
        out += f->name();
        append_labels(out, f->labels(), key);
        out += ' ';
        append_number(out, static_cast<double>(c.value()));
        out += '\n';
      });
    };
  }
  for (auto& [name, fam] : gauges_) {
    auto* f = fam.get();
    parts[name] = [f](std::string& out) {
      append_header(out, f->name(), f->help(), "gauge");
      f->each([&](const std::vector<std::string>& key, const gauge& g) {
        out += f->name();
        append_labels(out, f->labels(), key);
        out += ' ';
        append_number(out, g.value());
        out += '\n';
      });
    };
  }
  for (auto& [name, fam] : histograms_) {
    auto* f = fam.get();
    parts[name] = [f](std::string& out) {
      append_header(out, f->name(), f->help(), "histogram");
      f->each([&](const std::vector<std::string>& key, const histogram& h) {
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h.bounds().size(); ++i) {
          cumulative += h.bucket(i);
          std::string le;
          if (i == h.bounds().size())
            le = "+Inf";
          else
            append_number(le, h.bounds()[i]);
          out += f->name();
          out += "_bucket";
          append_labels(out, f->labels(), key, "le", le);
          out += ' ';
          append_number(out, static_cast<double>(cumulative));
          out += '\n';
        }
        out += f->name();
        out += "_sum";
        append_labels(out, f->labels(), key);
        out += ' ';
        append_number(out, h.sum());
        out += '\n';
        out += f->name();
        out += "_count";
        append_labels(out, f->labels(), key);
        out += ' ';
        append_number(out, static_cast<double>(h.count()));
        out += '\n';
      });
    };
  }
  for (auto& [name, c] : computed_) {
    auto* comp = &c;
    auto metric = name;
    parts[name] = [comp, metric](std::string& out) {
      append_header(out, metric, comp->help, "gauge");
      comp->fn([&](const std::vector<std::string>& values, double x) {
        out += metric;
        append_labels(out, comp->labels, values);
        out += ' ';
        append_number(out, x);
        out += '\n';
      });
    };
  }
  std::string out;
  for (auto& [name, render] : parts)
    render(out);
  return out;
}

} // namespace vigil::metrics
