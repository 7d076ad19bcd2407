#include "runtime/codec/remote_write.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "messages/proto/remote_write.pb.h"
#include "runtime/codec/error.hpp"
#include "runtime/codec/protobuf_reader.hpp"
#include "runtime/codec/series.hpp"

namespace vigil::codec {

namespace {

/// 9999-12-31T23:59:59.999Z in ms since the epoch.
constexpr int64_t max_timestamp_ms = 253'402'300'799'999;


using pb::wire_type;

// Field numbers of prometheus.WriteRequest and its parts.
constexpr uint32_t write_request_timeseries = 1;
constexpr uint32_t write_request_metadata = 3;
constexpr uint32_t series_labels = 1;
constexpr uint32_t series_samples = 2;
constexpr uint32_t series_exemplars = 3;
constexpr uint32_t series_histograms = 4;
constexpr uint32_t label_name = 1;
constexpr uint32_t label_value = 2;
constexpr uint32_t sample_value = 1;
constexpr uint32_t sample_timestamp = 2;

// Formats "timeseries[12]" without allocating.
struct series_where {
  char buf[48];
  size_t len;

  explicit series_where(size_t index) {
    constexpr std::string_view prefix = "timeseries[";
    std::memcpy(buf, prefix.data(), prefix.size());
    auto res = std::to_chars(buf + prefix.size(), buf + sizeof(buf) - 1,
                             index);
    *res.ptr = ']';
    len = static_cast<size_t>(res.ptr + 1 - buf);
  }

  std::string str() const { return std::string{buf, len}; }
};

// The layout every encoder writes for a Label: `0a <n> name 12 <m> value`
// with both lengths below 128. Splits it without the general loop; returns
// false for anything else, which then takes the general path.
inline bool split_label(std::string_view msg, std::string_view& name,
                        std::string_view& value) {
  auto p = reinterpret_cast<const uint8_t*>(msg.data());
  size_t n = msg.size();
  if (n < 4 || p[0] != 0x0a || p[1] >= 0x80)
    return false;
  size_t name_len = p[1];
  if (name_len + 4 > n || p[name_len + 2] != 0x12 || p[name_len + 3] >= 0x80)
    return false;
  size_t value_len = p[name_len + 3];
  if (name_len + value_len + 4 != n)
    return false;
  name = msg.substr(2, name_len);
  value = msg.substr(name_len + 4, value_len);
  return true;
}

// The layout every encoder writes for a Sample: `09 <8 bytes> 10 <varint>`.
inline bool split_sample(std::string_view msg, uint64_t& bits, uint64_t& ts) {
  auto p = reinterpret_cast<const uint8_t*>(msg.data());
  if (msg.size() < 11 || p[0] != 0x09 || p[9] != 0x10)
    return false;
  pb::reader fixed{msg.substr(1, 8)};
  pb::reader rest{msg.substr(10)};
  return fixed.read_fixed64(bits) && rest.read_varint(ts) && rest.done();
}

std::string at_byte(std::string where, size_t byte) {
  where += ": byte ";
  where += std::to_string(byte);
  return where;
}

// The state of one decode; lives on the caller's stack.
class decoder {
public:
  explicit decoder(const decode_options& opts) : opts_(opts) {
  }

  caf::error run(std::string_view buf) {
    input_size_ = buf.size();
    reserve_budget_ = buf.size();
    pb::reader r{buf};
    size_t index = 0;
    while (!r.done()) {
      auto key_at = r.offset();
      uint32_t field;
      wire_type type;
      if (!r.read_key(field, type))
        return bad(r, "WriteRequest", key_at);
      if (field == write_request_timeseries
          || field == write_request_metadata) {
        if (type != wire_type::length_delimited)
          return malformed(std::string{"field "} + std::to_string(field)
                             + " of WriteRequest has the wrong wire type",
                           at_byte("WriteRequest", key_at));
        pb::reader sub{std::string_view{}};
        if (!r.read_message(sub))
          return bad(r, field == write_request_timeseries
                          ? series_where{index}.str()
                          : "metadata[" + std::to_string(stats_.metadata)
                              + "]",
                     key_at);
        if (field == write_request_metadata) {
          ++stats_.metadata;
          continue;
        }
        if (auto err = series(sub, index++))
          return err;
        continue;
      }
      if (!r.skip(type))
        return bad(r, "WriteRequest", key_at);
    }
    return {};
  }

  std::vector<sample_batch> take_batches() { return std::move(batches_); }

  const decode_stats& stats() const { return stats_; }

private:
  caf::error bad(const pb::reader& r, std::string where, size_t at) {
    return malformed(std::string{"invalid protobuf: "} + r.failure(),
                     at_byte(std::move(where), std::max(at, r.offset())));
  }

  caf::error wrong_type(std::string what, size_t index, size_t at) {
    return malformed(what + " has the wrong wire type",
                     at_byte(series_where{index}.str(), at));
  }

  caf::error series(pb::reader& r, size_t index) {
    ++stats_.series;
    labels_.clear();
    label_bytes_.clear();
    values_.clear();
    std::string_view metric;
    bool has_name = false;
    uint32_t label_index = 0;
    while (!r.done()) {
      auto key_at = r.offset();
      uint32_t field;
      wire_type type;
      if (!r.read_key(field, type))
        return bad(r, series_where{index}.str(), key_at);
      switch (field) {
        case series_labels: {
          if (type != wire_type::length_delimited)
            return wrong_type("label", index, key_at);
          std::string_view msg;
          if (!r.read_bytes(msg))
            return bad(r, series_where{index}.str(), key_at);
          std::string_view name, value;
          if (!split_label(msg, name, value)) {
            pb::reader lr{msg, r.offset() - msg.size()};
            while (!lr.done()) {
              auto at = lr.offset();
              uint32_t f;
              wire_type t;
              if (!lr.read_key(f, t))
                return bad(lr, label_where(index, label_index), at);
              if (f == label_name || f == label_value) {
                if (t != wire_type::length_delimited)
                  return malformed("label name or value has the wrong wire "
                                   "type",
                                   at_byte(label_where(index, label_index),
                                           at));
                if (!lr.read_bytes(f == label_name ? name : value))
                  return bad(lr, label_where(index, label_index), at);
              } else if (!lr.skip(t)) {
                return bad(lr, label_where(index, label_index), at);
              }
            }
          }
          if (name == "__name__") {
            if (has_name)
              return malformed("label __name__ appears more than once",
                               at_byte(label_where(index, label_index),
                                       key_at));
            has_name = true;
            metric = value;
          } else {
            labels_.push_back({name, value, label_index});
          }
          label_bytes_.push_back(key_at);
          ++label_index;
          break;
        }
        case series_samples: {
          if (type != wire_type::length_delimited)
            return wrong_type("sample", index, key_at);
          std::string_view msg;
          if (!r.read_bytes(msg))
            return bad(r, series_where{index}.str(), key_at);
          uint64_t bits = 0;
          uint64_t ts = 0;
          if (!split_sample(msg, bits, ts)) {
            pb::reader sr{msg, r.offset() - msg.size()};
            while (!sr.done()) {
              auto at = sr.offset();
              uint32_t f;
              wire_type t;
              if (!sr.read_key(f, t))
                return bad(sr, sample_where(index), at);
              bool ok;
              if (f == sample_value) {
                if (t != wire_type::fixed64)
                  return malformed("sample value has the wrong wire type",
                                   at_byte(sample_where(index), at));
                ok = sr.read_fixed64(bits);
              } else if (f == sample_timestamp) {
                if (t != wire_type::varint)
                  return malformed("sample timestamp has the wrong wire type",
                                   at_byte(sample_where(index), at));
                ok = sr.read_varint(ts);
              } else {
                ok = sr.skip(t);
              }
              if (!ok)
                return bad(sr, sample_where(index), at);
            }
          }
          if (++items_ > opts_.max_items)
            return too_large("request holds more than "
                               + std::to_string(opts_.max_items)
                               + " samples",
                             at_byte(series_where{index}.str(), key_at));
          // Event time must be a date detectors can do arithmetic on:
          // 1970-01-01 up to the end of year 9999, in milliseconds.
          if (static_cast<int64_t>(ts) < 0
              || static_cast<int64_t>(ts) > max_timestamp_ms)
            return malformed("sample timestamp " + std::to_string(
                               static_cast<int64_t>(ts))
                               + " ms is outside 1970..9999",
                             at_byte(sample_where(index), key_at));
          values_.push_back({bits, static_cast<int64_t>(ts)});
          break;
        }
        case series_exemplars:
        case series_histograms:
          ++stats_.ignored;
          [[fallthrough]];
        default:
          if (!r.skip(type))
            return bad(r, series_where{index}.str(), key_at);
      }
    }
    if (!has_name)
      return malformed("series has no __name__ label",
                       series_where{index}.str());
    if (values_.empty())
      return {};
    auto& batch = batch_for(service_of(), r.offset());
    series_ref ref;
    if (!builder_.append(batch.texts, metric, labels_, ref)) {
      const auto& fault = builder_.fault();
      std::string where = series_where{index}.str();
      if (fault.label >= 0) {
        auto pos = static_cast<size_t>(fault.label);
        where = at_byte(label_where(index, static_cast<uint32_t>(pos)),
                        label_bytes_[pos]);
      }
      return caf::make_error(fault.code, fault.message, std::move(where));
    }
    for (auto [bits, ts] : values_) {
      auto value = std::bit_cast<double>(bits);
      uint8_t flags = ref.flags;
      if (bits == stale_nan_bits) {
        flags |= sample_flags::stale;
        ++stats_.stale_markers;
      } else if (std::isnan(value)) {
        ++stats_.nan_values;
      }
      batch.samples.push_back(
        sample{ref.hash, ts, value, ref.offset, ref.size, flags});
    }
    stats_.samples += values_.size();
    return {};
  }

  static std::string label_where(size_t index, uint32_t label) {
    auto s = series_where{index}.str();
    s += ".labels[";
    s += std::to_string(label);
    s += ']';
    return s;
  }

  static std::string sample_where(size_t index) {
    return series_where{index}.str() + ".samples";
  }

  std::string_view service_of() const {
    for (const auto& wanted : opts_.service_labels)
      for (const auto& l : labels_)
        if (l.name.size() == wanted.size() && !l.value.empty()
            && l.name == wanted)
          return l.value;
    return opts_.default_service;
  }

  sample_batch& batch_for(std::string_view service, size_t offset) {
    // Consecutive series mostly share a service, and requests mostly
    // hold a handful: compare strings before hashing one.
    if (last_ < batches_.size() && batches_[last_].service == service)
      return batches_[last_];
    if (batches_.size() <= linear_lookup_limit) {
      for (size_t i = 0; i < batches_.size(); ++i)
        if (batches_[i].service == service) {
          last_ = i;
          return batches_[i];
        }
    } else if (auto i = index_.find(service); i != index_.end()) {
      last_ = i->second;
      return batches_[last_];
    }
    last_ = batches_.size();
    auto& batch = batches_.emplace_back();
    batch.service = std::string{service};
    batch.received_ns = opts_.received_ns;
    // Series texts take about as many bytes as the labels on the wire, so
    // the rest of the input bounds what this batch can need. A budget of
    // one input size across all batches keeps many services from
    // reserving many times the input.
    auto reserve = std::min(reserve_budget_, input_size_ - std::min(offset, input_size_));
    reserve_budget_ -= reserve;
    batch.texts.reserve(reserve);
    batch.samples.reserve(reserve / bytes_per_sample_guess);
    // `service` views the input or the options, both of which outlive
    // the decode, so it can key the index as it is.
    index_.emplace(service, last_);
    return batch;
  }

  const decode_options& opts_;
  series_builder builder_{label_names::prometheus};
  std::vector<sample_batch> batches_;
  std::unordered_map<std::string_view, size_t> index_;
  size_t last_ = static_cast<size_t>(-1);
  std::vector<label_view> labels_;
  std::vector<size_t> label_bytes_;
  std::vector<std::pair<uint64_t, int64_t>> values_;
  uint64_t items_ = 0;
  decode_stats stats_;
  size_t input_size_ = 0;
  size_t reserve_budget_ = 0;
  // Prometheus sends one sample per series of ~150 protobuf bytes.
  static constexpr size_t bytes_per_sample_guess = 128;
  // Up to this many batches, a linear scan finds the service.
  static constexpr size_t linear_lookup_limit = 8;
};

} // namespace

bool is_stale_marker(double value) noexcept {
  return std::bit_cast<uint64_t>(value) == stale_nan_bits;
}

double stale_marker() noexcept {
  return std::bit_cast<double>(stale_nan_bits);
}

caf::expected<std::vector<sample_batch>>
decode_remote_write(std::string_view protobuf, const decode_options& opts,
                    decode_stats* stats) {
  decoder d{opts};
  if (auto err = d.run(protobuf))
    return err;
  if (stats)
    *stats = d.stats();
  return d.take_batches();
}

std::string encode_remote_write(std::span<const write_series> series) {
  prometheus::WriteRequest req;
  for (const auto& s : series) {
    auto* ts = req.add_timeseries();
    for (const auto& [name, value] : s.labels) {
      auto* l = ts->add_labels();
      l->set_name(name);
      l->set_value(value);
    }
    for (const auto& [value, t] : s.samples) {
      auto* x = ts->add_samples();
      x->set_value(value);
      x->set_timestamp(t);
    }
  }
  return req.SerializeAsString();
}

} // namespace vigil::codec
