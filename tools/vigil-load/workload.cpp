#include "tools/vigil-load/workload.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "messages/errc.hpp"
#include "runtime/codec/compression.hpp"
#include "runtime/codec/ndjson.hpp"
#include "runtime/codec/remote_write.hpp"
#include "runtime/hash.hpp"
#include "tools/vigil-load/pinned_snappy.hpp"

namespace vigil::load {

static_assert(std::endian::native == std::endian::little,
              "protobuf fixed64 fields are patched with host byte order");

// -- rng -------------------------------------------------------------------------

rng::rng(uint64_t seed) {
  // splitmix64 spreads any seed over the whole state.
  for (auto& s : s_) {
    seed += 0x9e3779b97f4a7c15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s = z ^ (z >> 31);
  }
}

uint64_t rng::next() {
  auto result = std::rotl(s_[1] * 5, 7) * 9;
  auto t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

double rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double rng::normal() {
  // The sum of four uniforms has variance 1/3; centred and scaled it is
  // close enough to a normal for noise, and needs no transcendental call.
  auto u = uniform() + uniform() + uniform() + uniform();
  return (u - 2.0) * 1.7320508075688772;
}

namespace {

// -- the series population -----------------------------------------------------

struct metric_kind {
  const char* name;
  bool counter;
  double scale; // gauge mean, or counter increase per second
  bool http;    // carries method and code labels
};

constexpr metric_kind metric_kinds[] = {
  {"http_requests_total", true, 40, true},
  {"http_request_duration_seconds_sum", true, 2, true},
  {"http_request_duration_seconds_count", true, 40, true},
  {"process_cpu_seconds_total", true, 0.25, false},
  {"process_resident_memory_bytes", false, 2.5e8, false},
  {"go_goroutines", false, 180, false},
  {"db_client_connections_in_use", false, 12, false},
  {"queue_messages_ready", false, 400, false},
  {"http_requests_in_flight", false, 6, false},
  {"jvm_memory_used_bytes", false, 6e8, false},
};
constexpr size_t metric_count = std::size(metric_kinds);

constexpr const char* service_words[] = {
  "checkout", "cart",     "payments", "orders",        "catalog",
  "search",   "auth",     "users",    "shipping",      "inventory",
  "pricing",  "reviews",  "frontend", "gateway",       "notifications",
  "recommendations"};

constexpr const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
constexpr const char* namespaces[] = {"prod", "prod", "staging"};

std::string service_name(uint32_t k) {
  auto word = service_words[k % std::size(service_words)];
  auto n = std::to_string(k / std::size(service_words));
  if (n.size() < 2)
    n.insert(0, 2 - n.size(), '0');
  return std::string{word} + "-" + n;
}

std::string base36(uint64_t x, size_t digits) {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out(digits, '0');
  for (size_t i = 0; i < digits; ++i) {
    out[digits - 1 - i] = alphabet[x % 36];
    x /= 36;
  }
  return out;
}

using label_set = std::vector<std::pair<std::string, std::string>>;

// Service `k` and index `j` within it; `(k, j)` is unique per series and
// `(k, metric, r)` with j = r * metric_count + metric spells it out in the
// labels, so no two series share a label set.
label_set labels_of(uint32_t k, uint64_t j, const metric_kind*& kind) {
  kind = &metric_kinds[j % metric_count];
  auto r = j / metric_count;
  auto service = service_name(k);
  hasher pod_hash;
  pod_hash.add(service);
  hasher replica_hash;
  replica_hash.add(service);
  replica_hash.add_byte(static_cast<unsigned char>(r & 0xff));
  replica_hash.add(std::to_string(r));
  label_set ls;
  ls.reserve(8);
  // Sorted by name, __name__ first: the order Prometheus sends.
  ls.emplace_back("__name__", kind->name);
  if (kind->http)
    ls.emplace_back("code", "200");
  ls.emplace_back("instance", "10." + std::to_string((k >> 8) & 0xff) + "."
                                + std::to_string(k & 0xff) + "."
                                + std::to_string(r & 0xff) + ":"
                                + std::to_string(9100 + (r >> 8)));
  ls.emplace_back("job", "kubernetes-pods");
  if (kind->http)
    ls.emplace_back("method", methods[r % std::size(methods)]);
  ls.emplace_back("namespace", namespaces[k % std::size(namespaces)]);
  ls.emplace_back("pod", service + "-" + base36(pod_hash.finish(), 6) + "-"
                           + base36(replica_hash.finish(), 5));
  ls.emplace_back("service", std::move(service));
  return ls;
}

std::string series_text(const label_set& ls) {
  std::string out = ls.front().second;
  out += '{';
  for (size_t i = 1; i < ls.size(); ++i) {
    if (i > 1)
      out += ',';
    out += ls[i].first;
    out += "=\"";
    out += ls[i].second;
    out += '"';
  }
  out += '}';
  return out;
}

// -- protobuf --------------------------------------------------------------------

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, uint8_t tag, std::string_view x) {
  out.push_back(static_cast<char>(tag));
  put_varint(out, x.size());
  out.append(x);
}

// Writes `ts_ms` as a varint of exactly ts_varint_bytes bytes (the minimal
// encoding for every timestamp in [2^35, 2^42) ms).
void patch_ts_varint(char* p, int64_t ts_ms) {
  auto v = static_cast<uint64_t>(ts_ms);
  for (size_t i = 0; i + 1 < ts_varint_bytes; ++i) {
    p[i] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  p[ts_varint_bytes - 1] = static_cast<char>(v);
}

constexpr int64_t min_ts_ms = int64_t{1} << 35;
constexpr int64_t max_ts_ms = (int64_t{1} << 42) - 1;

// A TimeSeries with one sample whose value and timestamp are placeholders;
// appends it to `out` and returns the offset of the value's 8 bytes (the
// timestamp's 6 follow one tag byte later).
size_t append_series(std::string& out, const label_set& ls) {
  std::string msg;
  for (auto& [name, value] : ls) {
    std::string label;
    put_bytes(label, 0x0a, name);
    put_bytes(label, 0x12, value);
    put_bytes(msg, 0x0a, label);
  }
  // Sample: 09 <fixed64 value> 10 <varint timestamp>.
  msg.push_back(0x12);
  put_varint(msg, 1 + 8 + 1 + ts_varint_bytes);
  msg.push_back(0x09);
  auto value_in_msg = msg.size();
  msg.append(8, '\0');
  msg.push_back(0x10);
  std::string ts(ts_varint_bytes, '\0');
  patch_ts_varint(ts.data(), min_ts_ms);
  msg.append(ts);
  out.push_back(0x0a);
  put_varint(out, msg.size());
  auto at = out.size() + value_in_msg;
  out.append(msg);
  return at;
}

// -- NDJSON ----------------------------------------------------------------------

// Space-padded fields: JSON allows whitespace before a number, so a value
// of any length up to the width is patched without moving the line.
constexpr size_t value_width = 24; // the longest shortest-form double
constexpr size_t ts_width = 14;    // "1732170000.123", good until 2286

void patch_json_value(char* p, double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  auto len = static_cast<size_t>(res.ptr - buf);
  std::memset(p, ' ', value_width - len);
  std::memcpy(p + value_width - len, buf, len);
}

void patch_json_ts(char* p, int64_t ts_ms) {
  auto secs = ts_ms / 1000;
  auto ms = ts_ms % 1000;
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), secs);
  auto len = static_cast<size_t>(res.ptr - buf);
  // Left-pad the seconds so the field keeps its width.
  size_t pad = ts_width - 4 - len;
  std::memset(p, ' ', pad);
  std::memcpy(p + pad, buf, len);
  p[pad + len] = '.';
  p[pad + len + 1] = static_cast<char>('0' + ms / 100);
  p[pad + len + 2] = static_cast<char>('0' + ms / 10 % 10);
  p[pad + len + 3] = static_cast<char>('0' + ms % 10);
}

void append_json_string(std::string& out, std::string_view x) {
  // Every generated name and value is plain ASCII without quotes or
  // backslashes.
  out += '"';
  out.append(x);
  out += '"';
}

// Appends one NDJSON line; returns the offsets of its value and ts fields.
std::pair<size_t, size_t> append_line(std::string& out, const label_set& ls) {
  const std::string* service = nullptr;
  for (auto& [name, value] : ls)
    if (name == "service")
      service = &value;
  out += "{\"service\":";
  append_json_string(out, *service);
  out += ",\"metric\":";
  append_json_string(out, ls.front().second);
  out += ",\"value\":";
  auto value_at = out.size();
  out.append(value_width, ' ');
  out += ",\"ts\":";
  auto ts_at = out.size();
  out.append(ts_width, ' ');
  out += ",\"labels\":{";
  bool first = true;
  for (size_t i = 1; i < ls.size(); ++i) {
    // The service travels in its own field, not as a label.
    if (ls[i].first == "service")
      continue;
    if (!first)
      out += ',';
    first = false;
    append_json_string(out, ls[i].first);
    out += ':';
    append_json_string(out, ls[i].second);
  }
  out += "}}\n";
  return {value_at, ts_at};
}

caf::error failed_check(std::string what) {
  return caf::make_error(errc::internal, "vigil-load self-check failed",
                         std::move(what));
}

} // namespace

// -- workload --------------------------------------------------------------------

caf::expected<std::unique_ptr<workload>>
workload::make(const workload_options& opts) {
  if (opts.series == 0 || opts.services == 0 || opts.batch == 0)
    return caf::make_error(errc::invalid_config,
                           "series, services and batch must be positive");
  if (opts.services > 65536)
    return caf::make_error(errc::invalid_config,
                           "at most 65536 services");
  if (opts.services > opts.series)
    return caf::make_error(errc::invalid_config,
                           "more services than series");
  std::unique_ptr<workload> w{new workload{opts}};
  if (auto err = w->build())
    return err;
  return w;
}

caf::error workload::build() {
  const auto n = opts_.series;
  const auto k_count = static_cast<uint64_t>(opts_.services);
  series_.resize(n);
  rng gen{opts_.seed};
  // Which service and which index within it series `i` has.
  auto place = [&](uint64_t i) -> std::pair<uint32_t, uint64_t> {
    if (opts_.order == grouping::mixed)
      return {static_cast<uint32_t>(i % k_count), i / k_count};
    auto k = i * k_count / n;
    auto first = (k * n + k_count - 1) / k_count;
    return {static_cast<uint32_t>(k), i - first};
  };
  const size_t slots = (n + opts_.batch - 1) / opts_.batch;
  templates_.resize(slots);
  double text_bytes = 0;
  std::string raw;
  std::vector<byte_range> pinned;
  std::vector<uint32_t> where;
  std::vector<label_set> first_labels;
  for (size_t s = 0; s < slots; ++s) {
    auto& t = templates_[s];
    t.first = s * opts_.batch;
    t.count = static_cast<uint32_t>(std::min<uint64_t>(opts_.batch,
                                                       n - t.first));
    raw.clear();
    pinned.clear();
    t.value_at.resize(t.count);
    t.ts_at.resize(t.count);
    for (uint32_t x = 0; x < t.count; ++x) {
      auto i = t.first + x;
      auto [k, j] = place(i);
      const metric_kind* kind = nullptr;
      auto ls = labels_of(k, j, kind);
      auto& st = series_[i];
      st.counter = kind->counter;
      st.scale = static_cast<float>(kind->scale * (0.5 + gen.uniform()));
      st.value = st.counter ? st.scale * 3600.0 * gen.uniform() : st.scale;
      auto text = series_text(ls);
      text_bytes += static_cast<double>(text.size());
      if (i == 0)
        example_ = text;
      if (opts_.format == wire_format::remote_write) {
        auto at = append_series(raw, ls);
        pinned.push_back({static_cast<uint32_t>(at), 8 + 1 + ts_varint_bytes});
      } else {
        auto [v, ts] = append_line(raw, ls);
        t.value_at[x] = static_cast<uint32_t>(v);
        t.ts_at[x] = static_cast<uint32_t>(ts);
      }
      if (s == 0)
        first_labels.push_back(std::move(ls));
    }
    raw_bytes_ += raw.size();
    if (opts_.format == wire_format::samples) {
      t.body = raw;
      wire_bytes_ += t.body.size();
      continue;
    }
    t.body = snappy_compress_pinned(raw, pinned, where);
    for (uint32_t x = 0; x < t.count; ++x) {
      t.value_at[x] = where[x];
      t.ts_at[x] = where[x] + 9;
    }
    wire_bytes_ += t.body.size();
    // Every body must decompress to exactly its protobuf.
    auto back = codec::snappy_uncompress(t.body, raw.size());
    if (!back || *back != raw)
      return failed_check("request " + std::to_string(s)
                          + " does not decompress to its protobuf");
    if (s == 0)
      ref_first_ = codec::snappy_compress(raw).size();
  }
  mean_text_ = text_bytes / static_cast<double>(n);
  // The first request, patched with known values, must be what the
  // reference encoder makes of the same series (remote write) or decode to
  // as many samples as it carries (NDJSON).
  auto& t = templates_[0];
  std::string body = t.body;
  std::vector<codec::write_series> expected;
  for (uint32_t x = 0; x < t.count; ++x) {
    // Non-zero: proto3 encoders leave zero-valued fields out.
    double v = 1.25 * x + 0.5;
    int64_t ts = 1'700'000'000'000 + x;
    if (opts_.format == wire_format::remote_write) {
      std::memcpy(body.data() + t.value_at[x], &v, 8);
      patch_ts_varint(body.data() + t.ts_at[x], ts);
      codec::write_series ws;
      ws.labels = first_labels[x];
      ws.samples.emplace_back(v, ts);
      expected.push_back(std::move(ws));
    } else {
      patch_json_value(body.data() + t.value_at[x], v);
      patch_json_ts(body.data() + t.ts_at[x], ts);
    }
  }
  if (opts_.format == wire_format::remote_write) {
    auto want = codec::encode_remote_write(expected);
    auto got = codec::snappy_uncompress(body, want.size() + 1);
    if (!got || *got != want)
      return failed_check("the patched first request differs from the "
                          "reference remote-write encoding");
  } else {
    codec::decode_options o;
    codec::decode_stats stats;
    auto decoded = codec::decode_samples_ndjson(body, o, &stats);
    if (!decoded)
      return failed_check("the patched first request is not valid NDJSON: "
                          + vigil::render(decoded.error()));
    if (stats.samples != t.count)
      return failed_check("the patched first request decodes to "
                          + std::to_string(stats.samples) + " samples, not "
                          + std::to_string(t.count));
  }
  return {};
}

uint32_t workload::render(size_t slot, int64_t ts_ms, int64_t prev_ts_ms,
                          uint64_t round, rng& gen, std::string& out) {
  auto& t = templates_[slot];
  out.assign(t.body);
  ts_ms = std::clamp(ts_ms, min_ts_ms, max_ts_ms);
  double dt = prev_ts_ms > 0 ? static_cast<double>(ts_ms - prev_ts_ms) / 1000.0
                             : 1.0;
  bool spikes = opts_.anomaly_rate > 0 && round >= opts_.anomaly_after;
  uint32_t injected = 0;
  char* p = out.data();
  for (uint32_t x = 0; x < t.count; ++x) {
    auto& s = series_[t.first + x];
    bool spike = spikes && gen.uniform() < opts_.anomaly_rate;
    injected += spike;
    double sent;
    if (s.counter) {
      // A steady rate with 10 % noise: the detectors see the rate, which
      // stays stationary however irregular the rounds are.
      double inc = s.scale * dt * std::max(0.0, 1.0 + 0.1 * gen.normal());
      if (spike)
        inc *= opts_.anomaly_factor;
      s.value += inc;
      sent = s.value;
    } else {
      // Mean-reverting walk around `scale`, about 12 % standard deviation.
      double mu = s.scale;
      s.value = std::max(0.0, mu + 0.9 * (s.value - mu)
                                + 0.05 * mu * gen.normal());
      sent = spike ? s.value * opts_.anomaly_factor : s.value;
    }
    if (opts_.format == wire_format::remote_write) {
      std::memcpy(p + t.value_at[x], &sent, 8);
      patch_ts_varint(p + t.ts_at[x], ts_ms);
    } else {
      patch_json_value(p + t.value_at[x], sent);
      patch_json_ts(p + t.ts_at[x], ts_ms);
    }
  }
  return injected;
}

namespace {

// The identity of a workload in a state file: what decides which series
// exist and in which order.
std::string state_header(const workload_options& o) {
  return "vigil-load-state/1 series=" + std::to_string(o.series)
         + " services=" + std::to_string(o.services)
         + " grouping=" + std::to_string(static_cast<int>(o.order))
         + " format=" + std::to_string(static_cast<int>(o.format))
         + " seed=" + std::to_string(o.seed) + "\n";
}

} // namespace

caf::error workload::save_state(const std::string& path) const {
  auto tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    return caf::make_error(errc::storage_failure, "cannot write", tmp);
  auto header = state_header(opts_);
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (auto& s : series_)
    ok = ok && std::fwrite(&s.value, sizeof(double), 1, f) == 1;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    return caf::make_error(errc::storage_failure, "cannot write", path);
  return {};
}

caf::expected<bool> workload::load_state(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return false;
  auto want = state_header(opts_);
  std::string got(want.size(), '\0');
  bool ok = std::fread(got.data(), 1, got.size(), f) == got.size()
            && got == want;
  std::vector<double> values(series_.size());
  ok = ok
       && std::fread(values.data(), sizeof(double), values.size(), f)
            == values.size();
  std::fclose(f);
  if (!ok)
    return caf::make_error(errc::invalid_config,
                           "state file belongs to another workload or is "
                           "truncated",
                           path);
  for (size_t i = 0; i < series_.size(); ++i)
    series_[i].value = values[i];
  return true;
}

std::vector<std::pair<std::string, std::string>> workload::headers() const {
  if (opts_.format == wire_format::remote_write)
    return {{"Content-Type", "application/x-protobuf"},
            {"Content-Encoding", "snappy"},
            {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  return {{"Content-Type", "application/x-ndjson"}};
}

} // namespace vigil::load
