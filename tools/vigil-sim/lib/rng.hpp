#pragma once

// The simulator's random numbers: xoshiro256** seeded through splitmix64,
// with its own uniform, normal and Poisson draws. The standard library's
// distributions are left alone on purpose: their algorithms differ between
// library versions, and a case must be byte-identical for a given seed.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace vigil::sim {

/// Mixes `x` into a well-spread 64-bit value (splitmix64's finaliser).
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// A small deterministic generator; one per independent stream of choices.
class rng {
public:
  /// Seeds the four state words from `seed` via splitmix64.
  explicit rng(uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      s = mix64(seed);
    }
  }

  /// Returns 64 random bits.
  uint64_t next() {
    auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Returns a uniform double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Returns a uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Returns a value whose logarithm is uniform in [ln lo, ln hi).
  double log_uniform(double lo, double hi) {
    return std::exp(uniform(std::log(lo), std::log(hi)));
  }

  /// Returns a uniform integer in [lo, hi] (inclusive).
  int64_t range(int64_t lo, int64_t hi) {
    if (hi <= lo)
      return lo;
    auto span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(next() % span);
  }

  /// Returns an index in [0, n); n must be positive.
  size_t index(size_t n) { return static_cast<size_t>(next() % n); }

  /// Returns true with probability `p`.
  bool chance(double p) { return uniform() < p; }

  /// Returns a standard normal value (Box-Muller, one of the pair).
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300)
      u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Returns a normal value with mean `mu` and deviation `sigma`.
  double normal(double mu, double sigma) { return mu + sigma * normal(); }

  /// Returns a Poisson-distributed count with mean `lambda` (a normal
  /// approximation above 40, where the difference no longer shows).
  uint64_t poisson(double lambda) {
    if (!(lambda > 0))
      return 0;
    if (lambda > 40) {
      double x = std::round(normal(lambda, std::sqrt(lambda)));
      return x < 0 ? 0 : static_cast<uint64_t>(x);
    }
    double limit = std::exp(-lambda);
    double p = uniform();
    uint64_t k = 0;
    while (p > limit) {
      p *= uniform();
      ++k;
    }
    return k;
  }

  /// Returns an exponential waiting time with mean `mean`.
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }

  /// Shuffles `xs` in place (Fisher-Yates).
  template <class T>
  void shuffle(std::vector<T>& xs) {
    for (size_t i = xs.size(); i > 1; --i)
      std::swap(xs[i - 1], xs[index(i)]);
  }

  /// Returns an index drawn with probability proportional to `weights`.
  size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (auto w : weights)
      total += w;
    double x = uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      x -= weights[i];
      if (x < 0)
        return i;
    }
    return weights.size() - 1;
  }

private:
  uint64_t s_[4];
};

} // namespace vigil::sim
