#include "actors/detector/log_state.hpp"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstring>

#include "runtime/clock.hpp"

namespace vigil::detector {

namespace {

constexpr std::string_view snapshot_magic = "vigil.logs.1";

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Lines without a level that still say they failed.
int32_t inferred_severity(std::string_view msg) {
  static constexpr std::string_view words[] = {
    "error", "errors", "exception", "fatal", "panic", "failed", "failure"};
  size_t i = 0;
  size_t n = std::min<size_t>(msg.size(), 512);
  while (i < n) {
    while (i < n && !word_char(msg[i]))
      ++i;
    size_t start = i;
    while (i < n && word_char(msg[i]))
      ++i;
    auto len = i - start;
    if (len < 5 || len > 9)
      continue;
    char buf[9];
    for (size_t k = 0; k < len; ++k)
      buf[k] = static_cast<char>(msg[start + k] | 0x20);
    std::string_view w{buf, len};
    for (auto x : words)
      if (w == x)
        return 17;
  }
  return 0;
}

void put_u64(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_i64(std::string& out, int64_t v) {
  put_u64(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_f64(std::string& out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_u64(out, bits);
}

void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

struct reader {
  std::string_view in;
  bool ok = true;

  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) {
        ok = false;
        return 0;
      }
      auto b = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0)
        return v;
    }
    ok = false;
    return 0;
  }

  int64_t i64() {
    auto z = u64();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }

  double f64() {
    auto bits = u64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return std::isfinite(v) ? v : 0.0;
  }

  std::string str() {
    auto n = u64();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
};

} // namespace

double severity_weight(int32_t severity) noexcept {
  if (severity >= 21)
    return 1.0;
  if (severity >= 17)
    return 0.8;
  if (severity >= 13)
    return 0.5;
  if (severity >= 9 || severity <= 0)
    return 0.25;
  return 0.1;
}

log_state::log_state(std::string service, log_options opts)
  : service_(std::move(service)),
    opts_(opts),
    miner_(opts.templates) {
  if (opts_.bucket_ms <= 0)
    opts_.bucket_ms = 60'000;
}

bool log_state::warm() const {
  return stats_.lines >= opts_.warmup_lines
         && stats_.last_ts_ms - stats_.first_ts_ms >= opts_.warmup_ms;
}

void log_state::advance(rate& r, int64_t ts) const {
  if (r.bucket_start == 0) {
    r.bucket_start = ts - ts % opts_.bucket_ms;
    return;
  }
  if (ts < r.bucket_start + opts_.bucket_ms)
    return;
  // Close the current bucket, then decay over the empty ones after it.
  auto a = opts_.baseline_alpha;
  r.baseline = (1 - a) * r.baseline + a * r.errors;
  auto start = ts - ts % opts_.bucket_ms;
  auto empty = (start - r.bucket_start) / opts_.bucket_ms - 1;
  if (empty > 0)
    r.baseline *= std::pow(1 - a, static_cast<double>(std::min<int64_t>(
                                     empty, 1000)));
  if (!r.reported)
    r.spiking = false;
  r.reported = false;
  r.bucket_start = start;
  r.lines = 0;
  r.errors = 0;
}

void log_state::remember(rate& r, std::string_view line) const {
  if (opts_.examples == 0)
    return;
  if (r.examples.size() >= opts_.examples)
    r.examples.pop_front();
  r.examples.emplace_back(line.substr(0, opts_.example_bytes));
}

anomaly_event log_state::make_event(anomaly_kind kind, int64_t ts,
                                    const log_template* tpl) const {
  anomaly_event ev;
  ev.service = service_;
  ev.kind = kind;
  ev.ts_ms = ts;
  ev.onset_ts_ms = ts;
  ev.received_ns = 0;
  ev.detected_ns = wall_ns();
  if (tpl != nullptr) {
    ev.template_id = template_id_text(tpl->id);
    ev.template_text = tpl->text();
    ev.metric = "log_template";
    ev.series = "log_template{template=\"" + ev.template_id + "\"}";
  } else {
    ev.metric = "log_errors";
    ev.series = "log_errors";
  }
  return ev;
}

void log_state::judge_spike(rate& r, int32_t severity, int64_t ts,
                            const log_template* tpl,
                            std::vector<anomaly_event>& out) {
  if (r.reported || r.errors < opts_.min_spike_errors || !warm())
    return;
  auto base = std::max(r.baseline, opts_.baseline_floor);
  auto spike = r.errors / base;
  if (spike < opts_.spike_ratio)
    return;
  auto raw = severity_weight(severity) * spike * opts_.criticality;
  auto ev = make_event(anomaly_kind::log_error_spike, ts, tpl);
  ev.phase = r.spiking ? anomaly_phase::ongoing : anomaly_phase::onset;
  if (!r.spiking)
    r.onset_ts_ms = ts;
  ev.onset_ts_ms = r.onset_ts_ms;
  // `value` is the score (severity weight x spike x criticality);
  // `score` maps it into [0, 1], 0.5 a little above the spike threshold.
  ev.value = raw;
  ev.score = 1.0 - std::exp(-raw / opts_.spike_ratio);
  ev.expected_lo = 0;
  ev.expected_hi = base * opts_.spike_ratio;
  ev.votes.push_back({"log_spike", ev.score, spike, true});
  ev.examples.assign(r.examples.begin(), r.examples.end());
  r.spiking = true;
  r.reported = true;
  ++stats_.spikes;
  out.push_back(std::move(ev));
}

void log_state::forget_evicted() {
  for (auto it = rates_.begin(); it != rates_.end();) {
    if (miner_.find(it->first) == nullptr)
      it = rates_.erase(it);
    else
      ++it;
  }
}

void log_state::ingest(const log_record& rec,
                       std::vector<anomaly_event>& out) {
  ingest(rec, opts_.format, out);
}

log_options log_options_from(const log_detection_options& cfg) {
  log_options o;
  o.format = log_format_from(cfg.format).value_or(log_format::auto_detect);
  o.templates.similarity = cfg.similarity;
  o.templates.max_templates = cfg.max_templates;
  o.bucket_ms = cfg.bucket.count();
  o.warmup_ms = cfg.warmup.count();
  o.warmup_lines = cfg.warmup_lines;
  o.min_spike_errors = cfg.min_spike_errors;
  o.spike_ratio = cfg.spike_ratio;
  o.criticality = cfg.criticality;
  o.examples = cfg.examples;
  return o;
}

void log_state::ingest(const log_record& rec, log_format format,
                       std::vector<anomaly_event>& out) {
  auto parsed = parse_log_line(rec.body, format);
  int32_t severity = rec.severity;
  if (severity == 0)
    severity = parsed.severity;
  if (severity == 0)
    severity = inferred_severity(parsed.message);
  // A time read from the line is trusted unless it lies more than an hour
  // ahead of the record's own (receive) time: replayed old lines keep
  // their times, but one line claiming the year 9999 must not push the
  // pipeline's clock past every bucket that would ever close.
  constexpr int64_t trusted_lead_ms = 3'600'000;
  int64_t ts = rec.ts_ms;
  if (parsed.ts_ms > 0
      && (rec.ts_ms <= 0 || parsed.ts_ms - rec.ts_ms <= trusted_lead_ms))
    ts = parsed.ts_ms;
  // Event time never runs backwards inside the pipeline: a late line
  // counts in the current bucket.
  if (ts < stats_.last_ts_ms)
    ts = stats_.last_ts_ms;
  if (ts <= 0)
    ts = 1;
  if (stats_.first_ts_ms == 0)
    stats_.first_ts_ms = ts;
  stats_.last_ts_ms = ts;
  bool was_warm = warm();
  ++stats_.lines;
  auto m = miner_.add(mining_text(parsed));
  if (rates_.size() > 2 * static_cast<size_t>(opts_.templates.max_templates))
    forget_evicted();
  auto& r = rates_[m.id];
  advance(r, ts);
  advance(total_, ts);
  ++r.lines;
  ++total_.lines;
  const log_template* tpl = miner_.find(m.id);
  if (m.created && was_warm) {
    auto bucket = ts - ts % opts_.bucket_ms;
    if (bucket != new_bucket_) {
      new_bucket_ = bucket;
      new_in_bucket_ = 0;
    }
    if (new_in_bucket_ < opts_.max_new_per_bucket) {
      ++new_in_bucket_;
      ++stats_.new_templates;
      auto ev = make_event(anomaly_kind::log_new_template, ts, tpl);
      ev.value = severity_weight(severity) * opts_.criticality;
      ev.score = std::clamp(ev.value, 0.0, 1.0);
      ev.votes.push_back({"log_new_template", ev.score, 0, true});
      ev.examples.emplace_back(
        std::string_view{rec.body}.substr(0, opts_.example_bytes));
      out.push_back(std::move(ev));
    }
  }
  if (severity >= opts_.template_error_severity) {
    ++r.errors;
    remember(r, rec.body);
    judge_spike(r, severity, ts, tpl, out);
  }
  if (severity >= opts_.service_error_severity) {
    ++stats_.error_lines;
    ++total_.errors;
    remember(total_, rec.body);
    judge_spike(total_, severity, ts, nullptr, out);
  }
}

std::string log_state::snapshot() const {
  std::string out{snapshot_magic};
  put_u64(out, stats_.lines);
  put_u64(out, stats_.error_lines);
  put_i64(out, stats_.first_ts_ms);
  put_i64(out, stats_.last_ts_ms);
  auto put_rate = [&](const rate& r) {
    put_i64(out, r.bucket_start);
    put_u64(out, r.lines);
    put_u64(out, r.errors);
    put_f64(out, r.baseline);
  };
  put_rate(total_);
  put_u64(out, miner_.size());
  miner_.for_each([&](const log_template& t) {
    put_u64(out, t.id);
    put_u64(out, t.count);
    put_u64(out, t.tokens.size());
    for (auto& tok : t.tokens)
      put_str(out, tok);
    auto it = rates_.find(t.id);
    put_rate(it == rates_.end() ? rate{} : it->second);
  });
  return out;
}

bool log_state::restore(std::string_view bytes) {
  if (!bytes.starts_with(snapshot_magic))
    return false;
  reader in{bytes.substr(snapshot_magic.size())};
  log_state_stats st;
  st.lines = in.u64();
  st.error_lines = in.u64();
  st.first_ts_ms = in.i64();
  st.last_ts_ms = in.i64();
  auto get_rate = [&](rate& r) {
    r.bucket_start = in.i64();
    r.lines = static_cast<uint32_t>(in.u64());
    r.errors = static_cast<uint32_t>(in.u64());
    r.baseline = in.f64();
  };
  rate total;
  get_rate(total);
  auto n = in.u64();
  if (!in.ok || n > 10'000'000)
    return false;
  template_miner miner{opts_.templates};
  std::unordered_map<uint64_t, rate> rates;
  for (uint64_t i = 0; i < n && in.ok; ++i) {
    auto id = in.u64();
    auto count = in.u64();
    auto ntok = in.u64();
    if (!in.ok || ntok > 100'000)
      return false;
    std::vector<std::string> tokens;
    for (uint64_t k = 0; k < ntok && in.ok; ++k)
      tokens.push_back(in.str());
    rate r;
    get_rate(r);
    if (!in.ok)
      return false;
    miner.restore(id, std::move(tokens), count);
    rates[id] = r;
  }
  if (!in.ok || !in.in.empty())
    return false;
  miner_ = std::move(miner);
  rates_ = std::move(rates);
  total_ = total;
  stats_ = st;
  return true;
}

} // namespace vigil::detector
