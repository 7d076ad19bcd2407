#pragma once

#include <chrono>
#include <cstdint>

namespace vigil {

/// Wall clock now, in nanoseconds since the Unix epoch. Used for I/O
/// (timeouts, latency metrics), never for analysis, which runs on event time.
inline int64_t wall_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Wall clock now, in milliseconds since the Unix epoch.
inline int64_t wall_ms() {
  return wall_ns() / 1'000'000;
}

/// A monotonic clock reading in nanoseconds, for measuring intervals.
inline int64_t mono_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch())
    .count();
}

} // namespace vigil
