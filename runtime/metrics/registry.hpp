#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::metrics {

/// A monotonically increasing count. Lock-free; keep a reference on hot paths.
class counter {
public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down.
class gauge {
public:
  void set(double x) { value_.store(x, std::memory_order_relaxed); }
  void add(double x) { value_.fetch_add(x, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

/// Counts observations in cumulative buckets (Prometheus histogram).
class histogram {
public:
  /// `bounds` are the bucket upper bounds, ascending; +Inf is implicit.
  explicit histogram(std::vector<double> bounds);
  /// Records one observation.
  void observe(double x);
  /// Bucket upper bounds (without +Inf).
  const std::vector<double>& bounds() const { return bounds_; }
  /// Non-cumulative count of bucket `i` (i == bounds().size() is +Inf).
  uint64_t bucket(size_t i) const {
    return counts_[i].load(std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  /// Estimates quantile `q` in [0, 1] by linear interpolation in its bucket.
  double quantile(double q) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Buckets for latencies in seconds, 100 µs to 30 s.
std::vector<double> latency_buckets();

/// All children of one metric name, one per label value combination.
template <class T>
class family {
public:
  family(std::string name, std::string help, std::vector<std::string> labels,
         std::function<std::unique_ptr<T>()> make)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      make_(std::move(make)) {
  }

  /// Returns the child for `values` (one per label name, in order), created
  /// on first use. The reference stays valid for the registry's lifetime.
  T& with(std::initializer_list<std::string_view> values) {
    std::vector<std::string> key;
    key.reserve(values.size());
    for (auto v : values)
      key.emplace_back(v);
    return with(std::move(key));
  }

  /// Same as above with a vector of label values.
  T& with(std::vector<std::string> key) {
    key.resize(labels_.size());
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = children_[std::move(key)];
    if (!slot)
      slot = make_();
    return *slot;
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }

  /// Calls `fn(label_values, child)` for every child in label order.
  template <class F>
  void each(F fn) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [key, child] : children_)
      fn(key, *child);
  }

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mtx_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

/// The node's self-metrics, rendered in the Prometheus text format. Shared
/// by every component of a node; families live as long as the registry.
class registry {
public:
  /// Labelled samples produced at scrape time.
  using sampler
    = std::function<void(const std::function<void(
                           const std::vector<std::string>&, double)>& emit)>;

  /// Returns the counter family `name`, creating it on first use.
  family<counter>& counters(const std::string& name, const std::string& help,
                            std::vector<std::string> labels = {});
  /// Returns the gauge family `name`, creating it on first use.
  family<gauge>& gauges(const std::string& name, const std::string& help,
                        std::vector<std::string> labels = {});
  /// Returns the histogram family `name`, creating it on first use.
  family<histogram>& histograms(const std::string& name,
                                const std::string& help,
                                std::vector<std::string> labels,
                                const std::vector<double>& bounds);
  /// Shorthand for an unlabelled counter.
  counter& counter_(const std::string& name, const std::string& help) {
    return counters(name, help).with({});
  }
  /// Shorthand for an unlabelled gauge.
  gauge& gauge_(const std::string& name, const std::string& help) {
    return gauges(name, help).with({});
  }
  /// Registers a gauge whose values `fn` computes at scrape time.
  void computed_gauge(const std::string& name, const std::string& help,
                      std::vector<std::string> labels, sampler fn);

  /// Renders every metric in the Prometheus text exposition format 0.0.4,
  /// sorted by name.
  std::string expose() const;

private:
  struct computed {
    std::string help;
    std::vector<std::string> labels;
    sampler fn;
  };
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<family<counter>>> counters_;
  std::map<std::string, std::unique_ptr<family<gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<family<histogram>>> histograms_;
  std::map<std::string, computed> computed_;
};

} // namespace vigil::metrics
