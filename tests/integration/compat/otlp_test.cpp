// The official OpenTelemetry JS SDK (npm, pinned in otlp-js/package-lock.json)
// exporting traces, metrics and logs over OTLP/HTTP protobuf straight to a
// real vigild. Skipped when node is not installed or the packages cannot be
// installed from the npm registry.

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/compat/fixture.hpp"

using namespace std::chrono_literals;

namespace vigil::test {
namespace {

constexpr const char* node_binary = "/usr/bin/node";

std::string emitter_dir() {
  return std::string{VIGIL_SOURCE_DIR} + "/tests/integration/compat/otlp-js";
}

// Where install.sh puts node_modules: $VIGIL_OTLP_JS_DIR, else beside the
// build's bin/ (never in the source tree).
std::string modules_dir() {
  if (auto env = std::getenv("VIGIL_OTLP_JS_DIR"); env && *env)
    return env;
  return std::string{VIGIL_BIN_DIR} + "/../otlp-js";
}

struct otlp : compat_test {
  // Runs install.sh (a no-op when the pinned packages are already there);
  // false with the reason when they could not be installed.
  bool install(const std::string& modules, std::string& why) {
    auto log = (dir.path() / "npm-install.log").string();
    process sh{{"/bin/sh", "-c", "exec /bin/sh \"$0\" \"$1\" >\"$2\" 2>&1",
                emitter_dir() + "/install.sh", modules, log},
               log + ".sh"};
    auto code = sh.wait(120s);
    if (code == 0)
      return true;
    why = "the OpenTelemetry JS packages are not installed in " + modules
          + " and install.sh could not install them ("
          + (code ? "exit " + std::to_string(*code) : std::string{"timeout"})
          + "):\n" + read_file(log);
    return false;
  }

  double requests(const std::string& endpoint, const std::string& code) {
    std::vector<label_match> labels{{"endpoint", endpoint}};
    if (!code.empty())
      labels.emplace_back("code", code);
    return node_metric("vigil_ingest_requests_total", labels).value_or(0);
  }
};

TEST_F(otlp, the_opentelemetry_js_sdk_exports_traces_metrics_and_logs) {
  if (!executable(node_binary))
    GTEST_SKIP() << node_binary << " is not installed (Debian package nodejs)";
  auto modules = modules_dir();
  if (std::string why; !install(modules, why))
    GTEST_SKIP() << why;
  start_node();
  ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
  process emitter{{node_binary, emitter_dir() + "/emit.js", "--target",
                   "http://127.0.0.1:" + std::to_string(node->http_port()),
                   "--modules", modules},
                  (dir.path() / "otlp-emit.log").string()};
  auto done = emitter.wait_for_line("otlp-emit done", 60s);
  auto code = emitter.wait(10s);
  ASSERT_TRUE(done) << "emit.js did not finish; its stderr:\n"
                    << emitter.stderr_text();
  EXPECT_EQ(code, 0) << emitter.stderr_text();
  // The SDK's own account: every export succeeded.
  EXPECT_EQ(*done, "otlp-emit done spans=14 metric_exports=3 log_records=3 "
                   "failures=0")
    << emitter.stderr_text();
  // vigild's: one traces request per service, a metrics export per flush
  // (two by hand, one at shutdown), one logs request; all answered 200.
  // vigild counts a response once it is written, so wait for the last one.
  EXPECT_TRUE(wait_until(
    [&] {
      return requests("otlp_traces", "") >= 3
             && requests("otlp_metrics", "") >= 3
             && requests("otlp_logs", "") >= 1;
    },
    10s));
  EXPECT_EQ(requests("otlp_traces", "200"), 3);
  EXPECT_EQ(requests("otlp_traces", ""), 3);
  EXPECT_EQ(requests("otlp_metrics", "200"), 3);
  EXPECT_EQ(requests("otlp_metrics", ""), 3);
  EXPECT_EQ(requests("otlp_logs", "200"), 1);
  EXPECT_EQ(requests("otlp_logs", ""), 1);
  for (auto endpoint : {"otlp_traces", "otlp_metrics", "otlp_logs"})
    EXPECT_EQ(
      node_metric("vigil_ingest_rejected_total", {{"endpoint", endpoint}})
        .value_or(0),
      0)
      << endpoint;
  EXPECT_EQ(node_metric("vigil_ingest_routed_total", {{"kind", "span"}}), 14);
  // The metrics and logs land on the services named by service.name.
  EXPECT_TRUE(wait_until(
    [&] {
      auto s = service("basket");
      return !s.is_null() && s.value("series", 0) > 0;
    },
    20s))
    << service("basket").dump();
  EXPECT_TRUE(wait_until(
    [&] {
      auto s = service("inventory");
      return !s.is_null() && s.value("log_records", 0) == 3;
    },
    20s))
    << service("inventory").dump();
}

} // namespace
} // namespace vigil::test
