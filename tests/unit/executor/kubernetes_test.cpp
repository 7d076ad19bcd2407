// The kubernetes.* actions against a fake API server on 127.0.0.1 that
// speaks HTTPS with a certificate made for the run, and checks requests the
// way the real API server does: exact paths and verbs, the bearer token,
// the patch content types and the exact shape of every body. It keeps a
// small cluster (deployments, their ReplicaSet history, pods with labels)
// and plays the deployment controller, so tests assert on the state the
// actions leave behind.

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/executor/executor.hpp"
#include "actors/executor/kubernetes.hpp"
#include "actors/executor/process.hpp"
#include "messages/errc.hpp"
#include "tests/support/support.hpp"

using namespace vigil::executor;
using namespace std::chrono_literals;
using vigil::attribute;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using json = nlohmann::json;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

// -- server-side TLS ----------------------------------------------------------

// The suite links libcurl, which loads libssl, but not libssl itself, and
// the linker refuses symbols of a library it only reaches through another.
// So the few server-side calls are looked up at run time in the libssl that
// is already mapped; only the types come from the header.
struct tls_api {
  decltype(&TLS_server_method) server_method = nullptr;
  decltype(&SSL_CTX_new) ctx_new = nullptr;
  decltype(&SSL_CTX_free) ctx_free = nullptr;
  decltype(&SSL_CTX_use_certificate_chain_file) use_chain = nullptr;
  decltype(&SSL_CTX_use_PrivateKey_file) use_key = nullptr;
  decltype(&SSL_new) ssl_new = nullptr;
  decltype(&SSL_free) ssl_free = nullptr;
  decltype(&SSL_set_fd) set_fd = nullptr;
  decltype(&SSL_accept) accept = nullptr;
  decltype(&SSL_read) read = nullptr;
  decltype(&SSL_write) write = nullptr;
  decltype(&SSL_shutdown) shutdown = nullptr;
  bool ok = false;

  static const tls_api& get() {
    static const tls_api api = [] {
      tls_api a;
      void* lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_NOLOAD);
      if (!lib)
        lib = dlopen("libssl.so.3", RTLD_NOW);
      if (!lib)
        return a;
      auto load = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
        return fn != nullptr;
      };
      a.ok = load(a.server_method, "TLS_server_method")
             && load(a.ctx_new, "SSL_CTX_new")
             && load(a.ctx_free, "SSL_CTX_free")
             && load(a.use_chain, "SSL_CTX_use_certificate_chain_file")
             && load(a.use_key, "SSL_CTX_use_PrivateKey_file")
             && load(a.ssl_new, "SSL_new") && load(a.ssl_free, "SSL_free")
             && load(a.set_fd, "SSL_set_fd") && load(a.accept, "SSL_accept")
             && load(a.read, "SSL_read") && load(a.write, "SSL_write")
             && load(a.shutdown, "SSL_shutdown");
      return a;
    }();
    return api;
  }
};

// A blocking TLS connection as a Beast SyncReadStream/SyncWriteStream.
struct tls_stream {
  const tls_api* api;
  SSL* ssl;

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers); ++it) {
      asio::mutable_buffer b = *it;
      if (b.size() == 0)
        continue;
      auto n = api->read(ssl, b.data(),
                         static_cast<int>(std::min<size_t>(b.size(), INT_MAX)));
      if (n <= 0) {
        ec = asio::error::eof;
        return 0;
      }
      return static_cast<size_t>(n);
    }
    return 0;
  }

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec)
      throw beast::system_error{ec};
    return n;
  }

  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    ec = {};
    size_t total = 0;
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers); ++it) {
      asio::const_buffer b = *it;
      auto* p = static_cast<const char*>(b.data());
      auto left = b.size();
      while (left > 0) {
        auto n = api->write(ssl, p,
                            static_cast<int>(std::min<size_t>(left, INT_MAX)));
        if (n <= 0) {
          ec = asio::error::broken_pipe;
          return total;
        }
        p += n;
        left -= static_cast<size_t>(n);
        total += static_cast<size_t>(n);
      }
    }
    return total;
  }

  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    beast::error_code ec;
    auto n = write_some(buffers, ec);
    if (ec)
      throw beast::system_error{ec};
    return n;
  }
};

// -- the fake cluster ---------------------------------------------------------

std::string str(beast::string_view x) {
  return std::string{x.data(), x.size()};
}

constexpr const char* revision_key = "deployment.kubernetes.io/revision";

response reply(unsigned code, const json& body) {
  response r{static_cast<bhttp::status>(code), 11};
  r.set(bhttp::field::content_type, "application/json");
  r.body() = body.dump();
  return r;
}

// An error answer as the API server sends it: a v1 Status object.
response status(unsigned code, const std::string& reason,
                const std::string& message) {
  return reply(code, {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"metadata", json::object()},
                      {"status", "Failure"},
                      {"message", message},
                      {"reason", reason},
                      {"code", code}});
}

std::string percent_decode(const std::string& x) {
  std::string out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '%' && i + 2 < x.size()) {
      out += static_cast<char>(std::stoi(x.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (x[i] == '+') {
      out += ' ';
    } else {
      out += x[i];
    }
  }
  return out;
}

std::string trim(const std::string& x) {
  auto b = x.find_first_not_of(' ');
  if (b == std::string::npos)
    return {};
  return x.substr(b, x.find_last_not_of(' ') - b + 1);
}

// Equality-based label selectors ("a=b,c!=d"); nullopt when malformed.
std::optional<std::vector<std::tuple<std::string, bool, std::string>>>
parse_selector(const std::string& text) {
  std::vector<std::tuple<std::string, bool, std::string>> out;
  size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    auto part = trim(text.substr(start, comma - start));
    auto ne = part.find("!=");
    auto eq = part.find('=');
    if (ne != std::string::npos)
      out.emplace_back(trim(part.substr(0, ne)), false,
                       trim(part.substr(ne + 2)));
    else if (eq != std::string::npos)
      out.emplace_back(
        trim(part.substr(0, eq)), true,
        trim(part.substr(part.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1)));
    else
      return std::nullopt;
    if (std::get<0>(out.back()).empty())
      return std::nullopt;
    if (comma == std::string::npos)
      return out;
    start = comma + 1;
  }
}

bool matches(
  const json& labels,
  const std::vector<std::tuple<std::string, bool, std::string>>& sel) {
  for (const auto& [key, equal, value] : sel) {
    auto it = labels.find(key);
    bool has = it != labels.end() && *it == value;
    if (has != equal)
      return false;
  }
  return true;
}

json without_hash(json tmpl) {
  tmpl["metadata"]["labels"].erase("pod-template-hash");
  return tmpl;
}

bool is_rfc3339(const std::string& x) {
  static const std::regex re{
    R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))"};
  return std::regex_match(x, re);
}

// The cluster's state and the API server's rules. Every member is guarded
// by `mu`: the server thread changes it, tests read it.
struct fake_cluster {
  std::mutex mu;
  std::string token = "t0ken.for-tests";
  std::map<std::string, json> deployments; // "ns/name"
  std::vector<json> replicasets;
  std::vector<json> pods;
  std::map<std::string, json> leases; // "ns/name"
  int lease_writes = 0;
  // "VERB target" of every request that passed TLS, in order.
  std::vector<std::string> seen;
  // "VERB path" -> the error the next such request gets.
  std::map<std::string, std::pair<unsigned, std::string>> fail_next;
  // Someone (an HPA, a newer control node) changes the deployment right
  // after we read it; with `epoch_after_read`, it leaves that epoch mark.
  bool change_after_read = false;
  std::string epoch_after_read;
  // PATCHes are applied, then answered only after this long.
  std::chrono::milliseconds patch_delay{0};
  // PATCHes answered after that delay.
  int delayed = 0;
  int64_t resource_version = 100;
  int hash_counter = 0;

  std::string next_rv() { return std::to_string(++resource_version); }

  json* deployment(const std::string& ns, const std::string& name) {
    auto it = deployments.find(ns + "/" + name);
    return it == deployments.end() ? nullptr : &it->second;
  }

  // The deployment controller's part: a changed template becomes the newest
  // revision, reusing the ReplicaSet that already has that template.
  void roll_out(json& d) {
    auto uid = d["metadata"]["uid"];
    const auto& tmpl = d["spec"]["template"];
    int64_t newest = 0;
    json* same = nullptr;
    for (auto& rs : replicasets) {
      if (rs["metadata"]["ownerReferences"][0]["uid"] != uid)
        continue;
      newest = std::max<int64_t>(
        newest,
        std::stoll(
          rs["metadata"]["annotations"][revision_key].get<std::string>()));
      if (without_hash(rs["spec"]["template"]) == tmpl)
        same = &rs;
    }
    auto rev = std::to_string(newest + 1);
    if (same) {
      (*same)["metadata"]["annotations"][revision_key] = rev;
    } else {
      auto hash = "h" + std::to_string(++hash_counter);
      auto t = tmpl;
      t["metadata"]["labels"]["pod-template-hash"] = hash;
      replicasets.push_back(replica_set(d, hash, rev, t, "rollout"));
    }
    d["metadata"]["annotations"][revision_key] = rev;
    d["metadata"]["resourceVersion"] = next_rv();
  }

  static json replica_set(const json& d, const std::string& hash,
                          const std::string& rev, const json& tmpl,
                          const std::string& cause) {
    auto labels = tmpl["metadata"]["labels"];
    return {
      {"apiVersion", "apps/v1"},
      {"kind", "ReplicaSet"},
      {"metadata",
       {{"name", d["metadata"]["name"].get<std::string>() + "-" + hash},
        {"namespace", d["metadata"]["namespace"]},
        {"labels", labels},
        {"annotations",
         {{revision_key, rev}, {"kubernetes.io/change-cause", cause}}},
        {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                          {"kind", "Deployment"},
                                          {"name", d["metadata"]["name"]},
                                          {"uid", d["metadata"]["uid"]},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}})}}},
      {"spec",
       {{"replicas", 0},
        {"selector", {{"matchLabels", labels}}},
        {"template", tmpl}}}};
  }

  response handle(const request& req, const std::atomic<bool>& stopping,
                  std::condition_variable& wake,
                  std::unique_lock<std::mutex>& lock) {
    auto target = str(req.target());
    auto verb = str(req.method_string());
    seen.push_back(verb + " " + target);
    if (str(req[bhttp::field::authorization]) != "Bearer " + token)
      return status(401, "Unauthorized", "Unauthorized");
    if (str(req[bhttp::field::accept]) != "application/json")
      return status(406, "NotAcceptable", "only application/json here");
    auto q = target.find('?');
    auto path = target.substr(0, q);
    auto query = q == std::string::npos ? "" : target.substr(q + 1);
    if (auto it = fail_next.find(verb + " " + path); it != fail_next.end()) {
      auto [code, msg] = it->second;
      fail_next.erase(it);
      return status(code, "Injected", msg);
    }
    std::smatch m;
    static const std::regex deployment_re{
      "/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)"};
    static const std::regex leases_re{
      "/apis/coordination.k8s.io/v1/namespaces/([^/]+)/leases(/([^/]+))?"};
    static const std::regex rs_re{
      "/apis/apps/v1/namespaces/([^/]+)/replicasets"};
    static const std::regex pods_re{"/api/v1/namespaces/([^/]+)/pods"};
    response out;
    if (std::regex_match(path, m, leases_re) && query.empty())
      out = lease_call(verb, m[1], m[3], req);
    else if (std::regex_match(path, m, deployment_re) && query.empty())
      out = deployment_call(verb, m[1], m[2], req);
    else if (std::regex_match(path, m, rs_re))
      out = list_replicasets(verb, m[1], query);
    else if (std::regex_match(path, m, pods_re))
      out = delete_pods(verb, m[1], query);
    else
      return status(404, "NotFound",
                    "the server could not find the requested resource");
    if (verb == "PATCH" && patch_delay.count() > 0) {
      wake.wait_for(lock, patch_delay, [&] { return stopping.load(); });
      ++delayed;
    }
    return out;
  }

  // The label selector of a `labelSelector=...` query (and nothing else),
  // parsed; nullopt when absent or malformed.
  static auto selector_of(const std::string& query)
    -> decltype(parse_selector(query)) {
    constexpr std::string_view key = "labelSelector=";
    if (query.compare(0, key.size(), key) != 0
        || query.find('&') != std::string::npos)
      return std::nullopt;
    return parse_selector(percent_decode(query.substr(key.size())));
  }

  static response conflict(const std::string& kind, const std::string& name) {
    return status(409, "Conflict",
                  "Operation cannot be fulfilled on " + kind + " \""
                    + name
                    + "\": the object has been modified; please apply your "
                      "changes to the latest version and try again");
  }

  // The fence marks a patch may set: vigil.dev/epoch and vigil.dev/action,
  // both strings, nothing else.
  static bool fence_marks(const json& an) {
    if (!an.is_object() || an.size() != 2)
      return false;
    for (const auto* k : {"vigil.dev/epoch", "vigil.dev/action"})
      if (!an.contains(k) || !an[k].is_string())
        return false;
    return true;
  }

  // An optional {"resourceVersion", "annotations"} part of a patch: false
  // when malformed; `stale` when its version is not the object's.
  static bool patch_metadata(const json& body, const json& obj, bool& stale) {
    stale = false;
    if (!body.contains("metadata"))
      return true;
    const auto& md = body["metadata"];
    if (!md.is_object() || md.empty())
      return false;
    for (const auto& [k, v] : md.items())
      if (k == "resourceVersion") {
        if (!v.is_string())
          return false;
        stale = v != obj["metadata"]["resourceVersion"];
      } else if (k != "annotations" || !fence_marks(v)) {
        return false;
      }
    return true;
  }

  response deployment_call(const std::string& verb, const std::string& ns,
                           const std::string& name, const request& req) {
    auto* d = deployment(ns, name);
    if (!d)
      return status(404, "NotFound",
                    "deployments.apps \"" + name + "\" not found");
    if (verb == "GET") {
      auto out = reply(200, *d);
      if (change_after_read) {
        (*d)["metadata"]["resourceVersion"] = next_rv();
        if (!epoch_after_read.empty())
          (*d)["metadata"]["annotations"]["vigil.dev/epoch"]
            = epoch_after_read;
        change_after_read = false;
      }
      return out;
    }
    if (verb != "PATCH")
      return status(405, "MethodNotAllowed", verb + " is not allowed here");
    auto type = str(req[bhttp::field::content_type]);
    auto body = json::parse(req.body(), nullptr, false);
    bool stale = false;
    if (type == "application/merge-patch+json") {
      // A scale: {"spec":{"replicas":N}} with optional metadata.
      bool shape = body.is_object() && body.contains("spec")
                   && body["spec"].is_object() && body["spec"].size() == 1
                   && body["spec"].contains("replicas")
                   && body["spec"]["replicas"].is_number_integer()
                   && body.size() == (body.contains("metadata") ? 2u : 1u)
                   && patch_metadata(body, *d, stale);
      if (!shape)
        return status(400, "BadRequest",
                      "unexpected scale patch " + req.body());
      if (stale)
        return conflict("deployments.apps", name);
      (*d)["spec"]["replicas"] = body["spec"]["replicas"];
      if (body.contains("metadata") && body["metadata"].contains("annotations"))
        (*d)["metadata"]["annotations"].update(body["metadata"]["annotations"]);
      (*d)["metadata"]["resourceVersion"] = next_rv();
      return reply(200, *d);
    }
    if (type == "application/strategic-merge-patch+json") {
      // Exactly the restart stamp kubectl rollout restart sends.
      auto bad = [&] {
        return status(400, "BadRequest",
                      "unexpected restart patch " + req.body());
      };
      if (!body.is_object()
          || body.size() != (body.contains("metadata") ? 2u : 1u)
          || !body.contains("spec") || !patch_metadata(body, *d, stale))
        return bad();
      if (stale)
        return conflict("deployments.apps", name);
      const auto& spec = body["spec"];
      if (!spec.is_object() || spec.size() != 1 || !spec.contains("template"))
        return bad();
      const auto& tm = spec["template"];
      if (!tm.is_object() || tm.size() != 1 || !tm.contains("metadata"))
        return bad();
      const auto& md = tm["metadata"];
      if (!md.is_object() || md.size() != 1 || !md.contains("annotations"))
        return bad();
      const auto& an = md["annotations"];
      if (!an.is_object() || an.size() != 1
          || !an.contains("kubectl.kubernetes.io/restartedAt")
          || !an["kubectl.kubernetes.io/restartedAt"].is_string()
          || !is_rfc3339(an["kubectl.kubernetes.io/restartedAt"]))
        return bad();
      (*d)["spec"]["template"]["metadata"]["annotations"].update(an);
      if (body.contains("metadata") && body["metadata"].contains("annotations"))
        (*d)["metadata"]["annotations"].update(body["metadata"]["annotations"]);
      roll_out(*d);
      return reply(200, *d);
    }
    if (type == "application/json-patch+json") {
      // Exactly: replace /spec/template, add /metadata/annotations, and
      // optionally replace /metadata/resourceVersion (a precondition: the
      // patched object's version must still be the stored one).
      auto op_ok = [](const json& op, const char* kind, const char* path,
                      bool object = true) {
        return op.is_object() && op.size() == 3 && op.value("op", "") == kind
               && op.value("path", "") == path && op.contains("value")
               && (object ? op["value"].is_object() : op["value"].is_string());
      };
      if (!body.is_array() || body.size() < 2 || body.size() > 3
          || !op_ok(body[0], "replace", "/spec/template")
          || !op_ok(body[1], "add", "/metadata/annotations")
          || (body.size() == 3
              && !op_ok(body[2], "replace", "/metadata/resourceVersion",
                        false)))
        return status(422, "Invalid",
                      "unexpected rollback patch " + req.body());
      if (body.size() == 3
          && body[2]["value"] != (*d)["metadata"]["resourceVersion"])
        return conflict("deployments.apps", name);
      for (const auto& [k, v] : body[1]["value"].items())
        if (!v.is_string())
          return status(400, "BadRequest", "annotation " + k + " not a string");
      (*d)["spec"]["template"] = body[0]["value"];
      (*d)["metadata"]["annotations"] = body[1]["value"];
      roll_out(*d);
      return reply(200, *d);
    }
    return status(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - "
                  "accepted media types include: application/json-patch+json, "
                  "application/merge-patch+json, "
                  "application/apply-patch+yaml");
  }

  // coordination.k8s.io/v1 Leases: GET one, POST (create) into the
  // collection, PUT (replace) one; a replace carries the version it read.
  response lease_call(const std::string& verb, const std::string& ns,
                      const std::string& name, const request& req) {
    auto key = ns + "/" + name;
    if (verb == "GET" && !name.empty()) {
      auto it = leases.find(key);
      if (it == leases.end())
        return status(404, "NotFound",
                      "leases.coordination.k8s.io \"" + name
                        + "\" not found");
      return reply(200, it->second);
    }
    if ((verb == "POST" && name.empty()) || (verb == "PUT" && !name.empty())) {
      if (str(req[bhttp::field::content_type]) != "application/json")
        return status(415, "UnsupportedMediaType", "unexpected content type");
      auto body = json::parse(req.body(), nullptr, false);
      if (!body.is_object() || body.value("apiVersion", "")
                                   != "coordination.k8s.io/v1"
          || body.value("kind", "") != "Lease" || !body.contains("metadata")
          || !body["metadata"].is_object()
          || !body["metadata"].contains("name")
          || !body["metadata"]["name"].is_string()
          || (!name.empty() && body["metadata"]["name"] != name)
          || (body["metadata"].contains("namespace")
              && body["metadata"]["namespace"] != ns)
          || !body.contains("spec") || !body["spec"].is_object())
        return status(400, "BadRequest", "unexpected lease " + req.body());
      auto lease_key = ns + "/" + body["metadata"]["name"].get<std::string>();
      auto it = leases.find(lease_key);
      if (verb == "POST") {
        if (it != leases.end())
          return status(409, "AlreadyExists",
                        "leases.coordination.k8s.io \""
                          + body["metadata"]["name"].get<std::string>()
                          + "\" already exists");
      } else {
        if (it == leases.end())
          return status(404, "NotFound", "lease not found");
        if (body["metadata"].value("resourceVersion", "")
            != it->second["metadata"]["resourceVersion"])
          return conflict("leases.coordination.k8s.io", name);
      }
      body["metadata"]["namespace"] = ns;
      body["metadata"]["resourceVersion"] = next_rv();
      leases[lease_key] = body;
      ++lease_writes;
      return reply(verb == "POST" ? 201 : 200, body);
    }
    return status(405, "MethodNotAllowed", verb + " is not allowed here");
  }

  response list_replicasets(const std::string& verb, const std::string& ns,
                            const std::string& query) {
    if (verb != "GET")
      return status(405, "MethodNotAllowed", verb + " is not allowed here");
    auto sel = selector_of(query);
    if (!sel)
      return status(400, "BadRequest", "unable to parse requirement");
    json items = json::array();
    for (const auto& rs : replicasets)
      if (rs["metadata"]["namespace"] == ns
          && matches(rs["metadata"]["labels"], *sel))
        items.push_back(rs);
    return reply(200, {{"kind", "ReplicaSetList"},
                       {"apiVersion", "apps/v1"},
                       {"metadata", {{"resourceVersion", next_rv()}}},
                       {"items", items}});
  }

  response delete_pods(const std::string& verb, const std::string& ns,
                       const std::string& query) {
    if (verb != "DELETE")
      return status(405, "MethodNotAllowed", verb + " is not allowed here");
    auto sel = selector_of(query);
    if (!sel)
      return status(400, "BadRequest", "unable to parse requirement");
    json items = json::array();
    std::vector<json> kept;
    for (auto& pod : pods)
      if (pod["metadata"]["namespace"] == ns
          && matches(pod["metadata"]["labels"], *sel))
        items.push_back(std::move(pod));
      else
        kept.push_back(std::move(pod));
    pods = std::move(kept);
    return reply(200, {{"kind", "PodList"},
                       {"apiVersion", "v1"},
                       {"metadata", {{"resourceVersion", next_rv()}}},
                       {"items", items}});
  }
};

// HTTPS on 127.0.0.1, port chosen by the system; one connection at a time
// (the client under test is sequential), keep-alive honoured.
class fake_api_server {
public:
  fake_api_server(const std::string& cert, const std::string& key,
                  fake_cluster& cluster)
    : api_(tls_api::get()), cluster_(cluster) {
    ctx_ = api_.ctx_new(api_.server_method());
    if (!ctx_ || api_.use_chain(ctx_, cert.c_str()) != 1
        || api_.use_key(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("cannot load the test certificate");
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0
        || ::listen(fd_, 16) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { run(); }};
  }

  ~fake_api_server() {
    {
      std::lock_guard<std::mutex> guard{cluster_.mu};
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    ::close(fd_);
    api_.ctx_free(ctx_);
  }

  uint16_t port() const { return port_; }

  /// TCP connections accepted so far (with or without a TLS handshake).
  int connections() const { return connections_.load(); }

private:
  void run() {
    while (!stopping_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0)
        continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0)
        continue;
      ++connections_;
      // Every read and write on the connection has a deadline.
      timeval tv{5, 0};
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      // Beast writes head and body apart; without this, Nagle and the
      // client's delayed ACK hold the body back for 40 ms.
      int one = 1;
      ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      serve(conn);
      ::close(conn);
    }
  }

  void serve(int conn) {
    SSL* ssl = api_.ssl_new(ctx_);
    api_.set_fd(ssl, conn);
    if (api_.accept(ssl) == 1) {
      tls_stream stream{&api_, ssl};
      beast::flat_buffer buf;
      for (;;) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(1 << 20);
        beast::error_code ec;
        bhttp::read(stream, buf, parser, ec);
        if (ec)
          break;
        auto req = parser.release();
        response res;
        {
          std::unique_lock<std::mutex> lock{cluster_.mu};
          res = cluster_.handle(req, stopping_, wake_, lock);
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        bhttp::write(stream, res, ec);
        if (ec || !res.keep_alive())
          break;
      }
      api_.shutdown(ssl);
    }
    api_.ssl_free(ssl);
  }

  const tls_api& api_;
  fake_cluster& cluster_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::condition_variable wake_;
  std::thread thread_;
};

// -- fixture ------------------------------------------------------------------

json web_template(const std::string& version, bool debug) {
  json c = {{"name", "web"}, {"image", "registry.local/web:" + version}};
  if (debug)
    c["env"] = json::array({{{"name", "DEBUG"}, {"value", "1"}}});
  return {
    {"metadata",
     {{"labels", {{"app", "web"}}}, {"annotations", {{"build", version}}}}},
    {"spec", {{"containers", json::array({c})}}}};
}

json pod(const std::string& ns, const std::string& name, json labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name}, {"namespace", ns}, {"labels", std::move(labels)}}}};
}

json deployment(const std::string& ns, const std::string& name,
                const std::string& uid, int replicas, const json& tmpl,
                const std::string& rev) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", uid},
            {"resourceVersion", "100"},
            {"annotations",
             {{revision_key, rev},
              {"kubectl.kubernetes.io/last-applied-configuration", "{}"},
              {"kubernetes.io/change-cause", "deploy " + rev}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", tmpl["metadata"]["labels"]}}},
            {"template", tmpl}}}};
}

class kubernetes : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    // A client that gives up mid-answer must not kill the suite; the old
    // disposition comes back after the suite.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old_sigpipe_);
    certs_ = new vigil::test::temp_dir;
    process_spec spec;
    spec.argv = {"/usr/bin/openssl",
                 "req",
                 "-x509",
                 "-newkey",
                 "ec",
                 "-pkeyopt",
                 "ec_paramgen_curve:prime256v1",
                 "-nodes",
                 "-days",
                 "2",
                 "-subj",
                 "/CN=vigil test API server",
                 "-addext",
                 "subjectAltName=IP:127.0.0.1",
                 "-keyout",
                 key_file(),
                 "-out",
                 cert_file()};
    spec.timeout = 10s;
    auto r = run_process(spec);
    ASSERT_TRUE(r && r->succeeded())
      << (r ? r->output : vigil::render(r.error()));
  }

  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
    ::sigaction(SIGPIPE, &old_sigpipe_, nullptr);
  }

  static std::string cert_file() { return certs_->str() + "/server.crt"; }

  static std::string key_file() { return certs_->str() + "/server.key"; }

  void SetUp() override {
    ASSERT_TRUE(tls_api::get().ok) << "libssl is not loaded";
    auto tmpl1 = web_template("1", false);
    auto tmpl2 = web_template("2", false);
    auto tmpl3 = web_template("3", true);
    auto web = deployment("prod", "web", "uid-web", 3, tmpl3, "3");
    auto with_hash = [](json t, const std::string& h) {
      t["metadata"]["labels"]["pod-template-hash"] = h;
      return t;
    };
    cluster_.replicasets = {
      fake_cluster::replica_set(web, "a1", "1", with_hash(tmpl1, "a1"),
                                "deploy v1"),
      fake_cluster::replica_set(web, "a2", "2", with_hash(tmpl2, "a2"),
                                "deploy v2"),
      fake_cluster::replica_set(web, "a3", "3", with_hash(tmpl3, "a3"),
                                "deploy v3"),
    };
    // Another deployment whose pods carry app=web too: its ReplicaSet
    // matches web's selector but is not web's history.
    auto canary = deployment("prod", "web-canary", "uid-canary", 1,
                             web_template("9", false), "9");
    cluster_.replicasets.push_back(fake_cluster::replica_set(
      canary, "c9", "9", with_hash(web_template("9", false), "c9"), "canary"));
    auto solo_tmpl = web_template("1", false);
    solo_tmpl["metadata"]["labels"] = {{"app", "solo"}};
    auto solo = deployment("prod", "solo", "uid-solo", 1, solo_tmpl, "1");
    cluster_.replicasets.push_back(fake_cluster::replica_set(
      solo, "s1", "1", with_hash(solo_tmpl, "s1"), "first"));
    cluster_.deployments
      = {{"prod/web", web}, {"prod/web-canary", canary}, {"prod/solo", solo}};
    cluster_.pods = {
      pod("prod", "web-1", {{"app", "web"}, {"track", "stable"}}),
      pod("prod", "web-2", {{"app", "web"}, {"track", "stable"}}),
      pod("prod", "web-canary-1", {{"app", "web"}, {"track", "canary"}}),
      pod("prod", "db-1", {{"app", "db"}}),
      pod("staging", "web-9", {{"app", "web"}, {"track", "stable"}}),
    };
    server_
      = std::make_unique<fake_api_server>(cert_file(), key_file(), cluster_);
    cfg_.server = "https://127.0.0.1:" + std::to_string(server_->port());
    cfg_.token = cluster_.token;
    cfg_.ca_file = cert_file();
    cfg_.timeout = 3s;
  }

  void TearDown() override { server_.reset(); }

  kube_result run(const std::string& action, std::vector<attribute> params,
                  double max_scale_factor = 3.0) {
    return run_kubernetes(cfg_, "kubernetes." + action, params,
                          max_scale_factor);
  }

  // As `run`, for a step of control epoch `epoch` with key `key`.
  kube_result run_fenced(const std::string& action,
                         std::vector<attribute> params, uint64_t epoch,
                         std::string key) {
    kube_fence f;
    f.epoch = epoch;
    f.key = std::move(key);
    return run_kubernetes(cfg_, "kubernetes." + action, params, 3.0, nullptr,
                          f);
  }

  json lease_now(const std::string& ns) {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    auto it = cluster_.leases.find(ns + "/vigil-remediation");
    return it == cluster_.leases.end() ? json{} : it->second;
  }

  size_t count_seen(std::string_view prefix) {
    auto s = seen();
    return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [&](const std::string& x) {
        return x.rfind(prefix, 0) == 0;
      }));
  }

  // A copy of the deployment as the fake cluster holds it now.
  json deployment_now(const std::string& name) {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    return *cluster_.deployment("prod", name);
  }

  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    return cluster_.seen;
  }

  std::vector<std::string> pod_names() {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    std::vector<std::string> out;
    for (const auto& p : cluster_.pods)
      out.push_back(p["metadata"]["namespace"].get<std::string>() + "/"
                    + p["metadata"]["name"].get<std::string>());
    return out;
  }

  // The template of web's ReplicaSet `hash` without its hash label.
  json rs_template(const std::string& hash) {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    for (const auto& rs : cluster_.replicasets)
      if (rs["metadata"]["name"] == "web-" + hash)
        return without_hash(rs["spec"]["template"]);
    return {};
  }

  static inline vigil::test::temp_dir* certs_ = nullptr;
  static inline struct sigaction old_sigpipe_ {};
  fake_cluster cluster_;
  std::unique_ptr<fake_api_server> server_;
  kube_config cfg_;
};

const std::string web_path = "/apis/apps/v1/namespaces/prod/deployments/web";

// -- restart_pods -------------------------------------------------------------

TEST_F(kubernetes, restart_pods_deletes_exactly_the_pods_the_selector_matches) {
  auto r = run("restart_pods",
               {{"namespace", "prod"}, {"selector", "app=web,track!=canary"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "deleted 2 pods in namespace prod matching "
                      "'app=web,track!=canary': web-1, web-2");
  EXPECT_EQ(pod_names(), (std::vector<std::string>{
                           "prod/web-canary-1", "prod/db-1", "staging/web-9"}));
  EXPECT_EQ(seen(), (std::vector<std::string>{
                      "DELETE /api/v1/namespaces/prod/pods?labelSelector="
                      "app%3Dweb%2Ctrack%21%3Dcanary"}));
}

TEST_F(kubernetes,
       restart_pods_refuses_an_empty_selector_and_reports_no_match) {
  for (std::string sel : {"", "   "}) {
    auto r = run("restart_pods", {{"namespace", "prod"}, {"selector", sel}});
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.retryable);
    EXPECT_NE(r.reason.find("would delete every pod"), std::string::npos)
      << r.reason;
  }
  auto r = run("restart_pods", {{"namespace", "prod"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(server_->connections(), 0);
  r = run("restart_pods", {{"namespace", "prod"}, {"selector", "app=nothing"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.reason.find("no pod in namespace prod matches 'app=nothing'"),
            std::string::npos)
    << r.reason;
  EXPECT_EQ(pod_names().size(), 5u);
}

// -- scale --------------------------------------------------------------------

TEST_F(kubernetes, scale_by_factor_patches_the_scale_with_the_capped_count) {
  auto r = run("scale", {{"namespace", "prod"},
                         {"deployment", "web"},
                         {"factor", "2"},
                         {"max_replicas", "5"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "scaled deployment prod/web from 3 to 5 replicas "
                      "(capped by max_replicas 5)");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 5);
  EXPECT_EQ(seen(), (std::vector<std::string>{"GET " + web_path,
                                              "PATCH " + web_path}));
  // Without a cap, 5 * 1.5 rounds up to 8.
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "1.5"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "scaled deployment prod/web from 5 to 8 replicas");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 8);
}

TEST_F(kubernetes, scale_to_a_count_stays_within_max_scale_factor) {
  auto r = run(
    "scale", {{"namespace", "prod"}, {"deployment", "web"}, {"replicas", "4"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "scaled deployment prod/web from 3 to 4 replicas");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 4);
  // 4 * 3 = 12 at most; 20 is refused after the read, before any change.
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"replicas", "20"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "scaling deployment prod/web from 4 to 20 replicas "
                      "exceeds max_scale_factor 3");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 4);
  EXPECT_EQ(seen().back(), "GET " + web_path);
  // A factor beyond the limit is refused without asking the server.
  auto before = seen().size();
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "4"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "scaling by 4 exceeds max_scale_factor 3");
  EXPECT_EQ(seen().size(), before);
  // Scaling down needs no allowance.
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"replicas", "1"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 1);
}

TEST_F(kubernetes, scale_never_shrinks_a_deployment_that_is_past_its_cap) {
  auto r = run("scale", {{"namespace", "prod"},
                         {"deployment", "web"},
                         {"factor", "2"},
                         {"max_replicas", "2"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "deployment prod/web already runs 3 replicas; "
                      "max_replicas 2 leaves no room to grow");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 3);
  EXPECT_EQ(seen(), (std::vector<std::string>{"GET " + web_path}));
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"replicas", "3"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "deployment prod/web already runs 3 replicas; nothing "
                      "to change");
}

TEST_F(kubernetes, scale_refuses_malformed_numbers_before_any_request) {
  std::vector<std::vector<attribute>> bad{
    {{"factor", "two"}},
    {{"factor", "-1"}},
    {{"factor", "nan"}},
    {{"replicas", "-1"}},
    {{"replicas", "3.5"}},
    {{"replicas", "99999999999"}},
    {{"replicas", "2"}, {"factor", "2"}},
    {},
    {{"factor", "2"}, {"max_replicas", "0"}},
  };
  for (auto params : bad) {
    params.push_back({"namespace", "prod"});
    params.push_back({"deployment", "web"});
    auto r = run("scale", params);
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.retryable);
  }
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(kubernetes, a_scale_that_changed_meanwhile_is_a_retryable_conflict) {
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.change_after_read = true;
  }
  auto r = run("scale",
               {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "2"}});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_NE(r.reason.find("HTTP 409"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("the object has been modified"), std::string::npos);
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 3);
  // The retry reads the new version and goes through.
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "2"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 6);
}

// -- rollout_restart ----------------------------------------------------------

TEST_F(kubernetes, rollout_restart_stamps_the_template_and_starts_a_revision) {
  auto before = deployment_now("web");
  auto r
    = run("rollout_restart", {{"namespace", "prod"}, {"deployment", "web"}});
  ASSERT_TRUE(r.ok) << r.reason;
  auto after = deployment_now("web");
  auto stamp = after["spec"]["template"]["metadata"]["annotations"]
                    ["kubectl.kubernetes.io/restartedAt"];
  ASSERT_TRUE(stamp.is_string());
  ASSERT_TRUE(is_rfc3339(stamp)) << stamp;
  std::tm tm{};
  strptime(stamp.get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_LE(std::abs(std::difftime(timegm(&tm), std::time(nullptr))), 5.0);
  EXPECT_NE(r.output.find(stamp.get<std::string>()), std::string::npos);
  // Everything else in the template stays; the controller made revision 4.
  auto restored = after["spec"]["template"];
  restored["metadata"]["annotations"].erase(
    "kubectl.kubernetes.io/restartedAt");
  EXPECT_EQ(restored, before["spec"]["template"]);
  EXPECT_EQ(after["metadata"]["annotations"][revision_key], "4");
  EXPECT_EQ(seen(),
            (std::vector<std::string>{"GET " + web_path, "PATCH " + web_path}));
}

TEST_F(kubernetes, rollout_restart_refuses_a_paused_deployment) {
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    (*cluster_.deployment("prod", "web"))["spec"]["paused"] = true;
  }
  auto r
    = run("rollout_restart", {{"namespace", "prod"}, {"deployment", "web"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "deployment prod/web is paused; resume it before "
                      "restarting it");
  EXPECT_EQ(seen(), (std::vector<std::string>{"GET " + web_path}));
}

// -- rollback -----------------------------------------------------------------

TEST_F(kubernetes, rollback_restores_the_previous_template_whole) {
  auto r = run("rollback", {{"namespace", "prod"}, {"deployment", "web"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "rolled back deployment prod/web from revision 3 to "
                      "revision 2");
  auto d = deployment_now("web");
  // Replaced, not merged: revision 3's DEBUG variable is gone, and the
  // ReplicaSet's hash label did not leak into the deployment.
  EXPECT_EQ(d["spec"]["template"], rs_template("a2"));
  EXPECT_EQ(d["spec"]["template"], web_template("2", false));
  EXPECT_EQ(d["metadata"]["annotations"]["kubernetes.io/change-cause"],
            "deploy v2");
  EXPECT_EQ(d["metadata"]["annotations"]
             ["kubectl.kubernetes.io/last-applied-configuration"],
            "{}");
  // The controller reused revision 2's ReplicaSet as revision 4.
  EXPECT_EQ(d["metadata"]["annotations"][revision_key], "4");
  EXPECT_EQ(seen(), (std::vector<std::string>{
                      "GET " + web_path,
                      "GET /apis/apps/v1/namespaces/prod/replicasets?"
                      "labelSelector=app%3Dweb",
                      "PATCH " + web_path}));
  // Undoing the undo goes back to revision 3's template.
  r = run("rollback", {{"namespace", "prod"}, {"deployment", "web"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["template"], web_template("3", true));
}

TEST_F(kubernetes, rollback_to_a_named_revision_or_refuse) {
  auto r
    = run("rollback",
          {{"namespace", "prod"}, {"deployment", "web"}, {"revision", "1"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["template"],
            web_template("1", false));
  auto patches = [&] {
    auto s = seen();
    return std::count_if(s.begin(), s.end(), [](const std::string& x) {
      return x.rfind("PATCH", 0) == 0;
    });
  };
  EXPECT_EQ(patches(), 1);
  r = run("rollback",
          {{"namespace", "prod"}, {"deployment", "web"}, {"revision", "7"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "deployment prod/web has no revision 7 (it has 2, 3, 4)");
  r = run("rollback", {{"namespace", "prod"}, {"deployment", "solo"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "deployment prod/solo has no previous revision to roll "
                      "back to");
  // Rolling back to what already runs changes nothing.
  r = run("rollback",
          {{"namespace", "prod"}, {"deployment", "web"}, {"revision", "4"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_NE(r.output.find("nothing to roll back"), std::string::npos);
  EXPECT_EQ(patches(), 1);
}

// -- fencing --------------------------------------------------------------------

const std::string lease_path
  = "/apis/coordination.k8s.io/v1/namespaces/prod/leases";

TEST_F(kubernetes, a_deployment_a_newer_epoch_changed_is_never_touched) {
  auto web = {attribute{"namespace", "prod"}, attribute{"deployment", "web"}};
  auto r = run_fenced("scale",
                      {{"namespace", "prod"},
                       {"deployment", "web"},
                       {"replicas", "4"}},
                      20, "key-20");
  ASSERT_TRUE(r.ok) << r.reason;
  auto d = deployment_now("web");
  EXPECT_EQ(d["spec"]["replicas"], 4);
  EXPECT_EQ(d["metadata"]["annotations"]["vigil.dev/epoch"], "20");
  EXPECT_EQ(d["metadata"]["annotations"]["vigil.dev/action"], "key-20");
  // Steps of an older epoch (a control node that was paused and came back)
  // read it and change nothing, whatever they are.
  auto patches = count_seen("PATCH");
  for (const auto& [action, extra] :
       std::vector<std::pair<std::string, std::vector<attribute>>>{
         {"scale", {{"replicas", "6"}}},
         {"rollout_restart", {}},
         {"rollback", {}}}) {
    std::vector<attribute> params{web};
    params.insert(params.end(), extra.begin(), extra.end());
    r = run_fenced(action, params, 19, "key-19");
    EXPECT_FALSE(r.ok) << action;
    EXPECT_FALSE(r.retryable) << action;
    EXPECT_EQ(r.reason, "fenced: deployment prod/web was changed by control "
                        "epoch 20, newer than this step's epoch 19; nothing "
                        "was changed")
      << action;
  }
  EXPECT_EQ(count_seen("PATCH"), patches);
  EXPECT_EQ(deployment_now("web")["spec"], d["spec"]);
  // The same or a newer epoch goes on and leaves its own mark.
  r = run_fenced("rollout_restart", web, 21, "key-21");
  ASSERT_TRUE(r.ok) << r.reason;
  r = run_fenced("rollback", web, 21, "key-21b");
  ASSERT_TRUE(r.ok) << r.reason;
  d = deployment_now("web");
  EXPECT_EQ(d["metadata"]["annotations"]["vigil.dev/epoch"], "21");
  EXPECT_EQ(d["metadata"]["annotations"]["vigil.dev/action"], "key-21b");
  // The rollback kept the deployment's own annotations beside the marks.
  EXPECT_TRUE(d["metadata"]["annotations"].contains(revision_key));
}

TEST_F(kubernetes, an_attempt_after_its_step_already_applied_changes_nothing) {
  std::vector<attribute> params{
    {"namespace", "prod"}, {"deployment", "web"}, {"factor", "2"}};
  auto r = run_fenced("scale", params, 7, "vigil-ACT-000001");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 6);
  // The answer was lost; the retry of the same step must not double again.
  r = run_fenced("scale", params, 7, "vigil-ACT-000001");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.output, "deployment prod/web was already changed by this step "
                      "(idempotency key vigil-ACT-000001, an earlier attempt); "
                      "nothing was changed again");
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 6);
  EXPECT_EQ(count_seen("PATCH"), 1u);
  // Another step of the same epoch is a new change.
  r = run_fenced("scale", params, 7, "vigil-ACT-000002");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 12);
}

TEST_F(kubernetes, a_stale_step_that_read_before_a_newer_one_wrote_is_refused) {
  // The newer epoch marks the deployment right after the stale step read
  // it: the stale patch carries the old version and gets 409, and its
  // retry reads the mark and stops.
  for (const auto* action : {"rollout_restart", "rollback", "scale"}) {
    {
      std::lock_guard<std::mutex> guard{cluster_.mu};
      cluster_.change_after_read = true;
      cluster_.epoch_after_read = "30";
    }
    std::vector<attribute> params{{"namespace", "prod"}, {"deployment", "web"}};
    if (std::string{action} == "scale")
      params.push_back({"replicas", "5"});
    auto before = deployment_now("web");
    auto r = run_fenced(action, params, 29, "stale");
    EXPECT_FALSE(r.ok) << action;
    EXPECT_TRUE(r.retryable) << action;
    EXPECT_NE(r.reason.find("HTTP 409"), std::string::npos) << r.reason;
    auto after = deployment_now("web");
    EXPECT_EQ(after["spec"], before["spec"]) << action;
    r = run_fenced(action, params, 29, "stale");
    EXPECT_FALSE(r.ok) << action;
    EXPECT_FALSE(r.retryable) << action;
    EXPECT_EQ(r.reason.rfind("fenced: ", 0), 0u) << r.reason;
    // Clear the mark for the next action.
    std::lock_guard<std::mutex> guard{cluster_.mu};
    (*cluster_.deployment("prod", "web"))["metadata"]["annotations"].erase(
      "vigil.dev/epoch");
  }
}

TEST_F(kubernetes, restart_pods_claims_the_namespace_lease_before_deleting) {
  std::vector<attribute> params{{"namespace", "prod"}, {"selector", "app=db"}};
  auto r = run_fenced("restart_pods", params, 40, "key-40");
  ASSERT_TRUE(r.ok) << r.reason;
  auto pods_del = "DELETE /api/v1/namespaces/prod/pods?labelSelector=app%3Ddb";
  EXPECT_EQ(seen(), (std::vector<std::string>{
                      "GET " + lease_path + "/vigil-remediation",
                      "POST " + lease_path, pods_del}));
  auto lease = lease_now("prod");
  EXPECT_EQ(lease["metadata"]["annotations"]["vigil.dev/epoch"], "40");
  EXPECT_EQ(lease["metadata"]["annotations"]["vigil.dev/action"], "key-40");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "vigil epoch 40");
  // An older epoch deletes nothing.
  auto pods = pod_names();
  r = run_fenced("restart_pods",
                 {{"namespace", "prod"}, {"selector", "app=web"}}, 39,
                 "key-39");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "fenced: lease prod/vigil-remediation was changed by "
                      "control epoch 40, newer than this step's epoch 39; "
                      "nothing was changed");
  EXPECT_EQ(pod_names(), pods);
  // A newer epoch takes the lease over; a writer that came in between
  // (409) makes it read and judge again.
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.fail_next["PUT " + lease_path + "/vigil-remediation"]
      = {409, "the object has been modified"};
  }
  auto before = seen().size();
  r = run_fenced("restart_pods",
                 {{"namespace", "prod"}, {"selector", "app=web"}}, 41,
                 "key-41");
  ASSERT_TRUE(r.ok) << r.reason;
  auto s = seen();
  EXPECT_EQ(std::vector<std::string>(s.begin() + before, s.end()),
            (std::vector<std::string>{
              "GET " + lease_path + "/vigil-remediation",
              "PUT " + lease_path + "/vigil-remediation",
              "GET " + lease_path + "/vigil-remediation",
              "PUT " + lease_path + "/vigil-remediation",
              "DELETE /api/v1/namespaces/prod/pods?labelSelector=app%3Dweb"}));
  EXPECT_EQ(lease_now("prod")["metadata"]["annotations"]["vigil.dev/epoch"],
            "41");
  // Without an epoch (no cluster fence) the lease is not involved.
  before = seen().size();
  r = run("restart_pods", {{"namespace", "staging"}, {"selector", "app=web"}});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(seen().size(), before + 1);
}

TEST_F(kubernetes, a_node_fenced_after_its_claim_deletes_no_pod) {
  // Paused right after claiming the lease: when it goes on, its node no
  // longer acts in that epoch, and the DELETE (which takes no
  // precondition) is never sent.
  kube_fence f;
  f.epoch = 50;
  f.key = "key-50";
  int asked = 0;
  f.still_ours = [&] {
    ++asked;
    return std::string{"this node is not the control node (that is n1)"};
  };
  auto pods = pod_names();
  auto r = run_kubernetes(cfg_, "kubernetes.restart_pods",
                          {{"namespace", "prod"}, {"selector", "app=web"}},
                          3.0, nullptr, f);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "fenced after claiming lease prod/vigil-remediation: "
                      "this node is not the control node (that is n1); no "
                      "pod was deleted");
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(pod_names(), pods);
  EXPECT_EQ(count_seen("DELETE"), 0u);
}

TEST_F(kubernetes, an_executor_hands_its_fence_to_the_kubernetes_step) {
  vigil::test::temp_dir dir;
  auto token = dir.str() + "/token";
  std::ofstream{token} << cluster_.token << "\n";
  vigil::action_job job;
  job.action.id = 9;
  job.action.action = "kubernetes.restart_pods";
  job.action.epoch = 60;
  job.action.idempotency_key = "key-60";
  job.params = {{"namespace", "prod"}, {"selector", "app=web"}};
  job.kube_server = cfg_.server;
  job.kube_token_file = token;
  job.kube_ca_file = cert_file();
  job.timeout_ms = 3000;
  // Still ours before the attempt, no longer once the lease is claimed.
  std::vector<uint64_t> asked;
  auto a = run_job(job, nullptr, [&](uint64_t epoch) {
    asked.push_back(epoch);
    return asked.size() == 1 ? std::string{} : std::string{"lease lapsed"};
  });
  EXPECT_EQ(a.status, "failed");
  EXPECT_EQ(a.reason, "fenced after claiming lease prod/vigil-remediation: "
                      "lease lapsed; no pod was deleted");
  EXPECT_EQ(asked, (std::vector<uint64_t>{60, 60}));
  EXPECT_EQ(count_seen("DELETE"), 0u);
  EXPECT_EQ(lease_now("prod")["metadata"]["annotations"]["vigil.dev/action"],
            "key-60");
}

// -- input checks -------------------------------------------------------------

TEST_F(kubernetes, hostile_names_never_reach_the_server) {
  for (const auto& ns : std::vector<std::string>{
         "../../x", "a b", "Prod", "-prod", "prod-", "pr.od",
         "prod/../kube-system", "prod?x=1", "prod%2f", std::string(64, 'a')}) {
    auto r = run("rollout_restart", {{"namespace", ns}, {"deployment", "web"}});
    EXPECT_FALSE(r.ok) << ns;
    EXPECT_FALSE(r.retryable);
    EXPECT_NE(r.reason.find("is not a valid Kubernetes namespace name"),
              std::string::npos)
      << r.reason;
    r = run("restart_pods", {{"namespace", ns}, {"selector", "app=web"}});
    EXPECT_FALSE(r.ok) << ns;
  }
  for (const auto& name : std::vector<std::string>{
         "../../x", "..", "a b", "Web", "web/../../x", "web?watch=1", "web#x",
         "web..x", ".web", "web.", "web\r\nX: y", std::string(254, 'a')}) {
    for (std::string action : {"scale", "rollout_restart", "rollback"}) {
      auto r
        = run(action,
              {{"namespace", "prod"}, {"deployment", name}, {"replicas", "2"}});
      EXPECT_FALSE(r.ok) << action << " " << name;
      EXPECT_FALSE(r.retryable);
      EXPECT_NE(r.reason.find("is not a valid Kubernetes object name"),
                std::string::npos)
        << r.reason;
    }
  }
  auto r = run("rollout_restart", {{"deployment", "web"}});
  EXPECT_EQ(r.reason, "the step names no namespace");
  r = run("exec", {{"namespace", "prod"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(server_->connections(), 0);
}

TEST(kubernetes_names, follow_the_dns_rules_of_kubernetes) {
  EXPECT_TRUE(is_dns1123_label("prod"));
  EXPECT_TRUE(is_dns1123_label("team-a-1"));
  EXPECT_TRUE(is_dns1123_label("0"));
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
  EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns1123_label(""));
  EXPECT_FALSE(is_dns1123_label("a.b"));
  EXPECT_FALSE(is_dns1123_label("a_b"));
  EXPECT_TRUE(is_dns1123_subdomain("web"));
  EXPECT_TRUE(is_dns1123_subdomain("web.v2-api"));
  EXPECT_TRUE(is_dns1123_subdomain(std::string(253, 'a')));
  EXPECT_FALSE(is_dns1123_subdomain(std::string(254, 'a')));
  EXPECT_FALSE(is_dns1123_subdomain("web..v2"));
  EXPECT_FALSE(is_dns1123_subdomain("web/v2"));
  EXPECT_FALSE(is_dns1123_subdomain(std::string_view{"web\0x", 5}));
}

// -- failures -----------------------------------------------------------------

TEST_F(kubernetes, api_errors_are_classified_and_quote_the_api_server) {
  auto restart = [&] {
    return run("rollout_restart",
               {{"namespace", "prod"}, {"deployment", "web"}});
  };
  cfg_.token = "stale";
  auto r = restart();
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "the API server rejected the bearer token (HTTP 401): "
                      "Unauthorized");
  cfg_.token = cluster_.token;
  auto inject = [&](const std::string& key, unsigned code, std::string msg) {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.fail_next[key] = {code, std::move(msg)};
  };
  inject("GET " + web_path, 403,
         "deployments.apps \"web\" is forbidden: User "
         "\"system:serviceaccount:ops:vigil\" cannot get resource "
         "\"deployments\"");
  r = restart();
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "cannot read deployment prod/web (HTTP 403): "
                      "deployments.apps \"web\" is forbidden: User "
                      "\"system:serviceaccount:ops:vigil\" cannot get "
                      "resource \"deployments\"");
  r = run("rollout_restart", {{"namespace", "prod"}, {"deployment", "nope"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "deployment prod/nope not found");
  inject("PATCH " + web_path, 500, "etcdserver: request timed out");
  r = restart();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.reason, "cannot change deployment prod/web (HTTP 500): "
                      "etcdserver: request timed out");
  inject("GET " + web_path, 429, "too many requests");
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"replicas", "4"}});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  inject("PATCH " + web_path, 422, "spec.template: Invalid value");
  r = restart();
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.reason.find("(HTTP 422): spec.template: Invalid value"),
            std::string::npos);
}

TEST_F(kubernetes,
       network_failures_are_retried_unless_a_change_may_have_landed) {
  // A port nobody listens on: the request never left.
  auto closed = cfg_;
  {
    fake_cluster other;
    fake_api_server gone{cert_file(), key_file(), other};
    closed.server = "https://127.0.0.1:" + std::to_string(gone.port());
  }
  auto r = run_kubernetes(
    closed, "kubernetes.scale",
    {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "2"}}, 3.0);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable) << r.reason;
  // The server applies the patch but answers too late.
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.patch_delay = 600ms;
  }
  cfg_.timeout = 300ms;
  r = run("rollout_restart", {{"namespace", "prod"}, {"deployment", "web"}});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable) << r.reason;
  EXPECT_NE(r.reason.find("cannot change deployment prod/web"),
            std::string::npos)
    << r.reason;
  // The server answers one connection at a time: let it finish that one.
  ASSERT_TRUE(vigil::test::wait_until(
    [&] {
      std::lock_guard<std::mutex> guard{cluster_.mu};
      return cluster_.delayed == 1;
    },
    3s));
  // Doubling twice would be wrong, so an unclear factor scale stops here.
  r = run("scale",
          {{"namespace", "prod"}, {"deployment", "web"}, {"factor", "2"}});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.reason.find("it may have been applied, so it is not retried"),
            std::string::npos)
    << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 6);
}

TEST_F(kubernetes, the_server_certificate_is_verified) {
  auto args
    = std::vector<attribute>{{"namespace", "prod"}, {"deployment", "web"}};
  // The system CAs do not vouch for the test certificate.
  auto untrusted = cfg_;
  untrusted.ca_file.clear();
  auto r = run_kubernetes(untrusted, "kubernetes.rollout_restart", args, 3.0);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_NE(r.reason.find("certificate"), std::string::npos) << r.reason;
  // The certificate is for 127.0.0.1, not for the name "localhost".
  auto wrong_name = cfg_;
  wrong_name.server = "https://localhost:" + std::to_string(server_->port());
  r = run_kubernetes(wrong_name, "kubernetes.rollout_restart", args, 3.0);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(seen().empty());
  EXPECT_GE(server_->connections(), 1);
  // Plain http would send the token in clear.
  auto plain = cfg_;
  plain.server = "http://127.0.0.1:" + std::to_string(server_->port());
  r = run_kubernetes(plain, "kubernetes.rollout_restart", args, 3.0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("not an https URL"), std::string::npos);
  // Tests may turn verification off.
  untrusted.insecure_skip_verify = true;
  r = run_kubernetes(untrusted, "kubernetes.rollout_restart", args, 3.0);
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST_F(kubernetes, the_token_file_is_read_on_every_run) {
  vigil::test::temp_dir dir;
  auto file = dir.str() + "/token";
  std::ofstream{file} << "first-token\n";
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.token = "first-token";
  }
  cfg_.token = "ignored";
  cfg_.token_file = file;
  auto args = std::vector<attribute>{
    {"namespace", "prod"}, {"deployment", "web"}, {"replicas", "4"}};
  auto r = run_kubernetes(cfg_, "kubernetes.scale", args, 3.0);
  ASSERT_TRUE(r.ok) << r.reason;
  std::ofstream{file} << "rotated-token\n";
  {
    std::lock_guard<std::mutex> guard{cluster_.mu};
    cluster_.token = "rotated-token";
  }
  args.back().value = "5";
  r = run_kubernetes(cfg_, "kubernetes.scale", args, 3.0);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(deployment_now("web")["spec"]["replicas"], 5);
  // A token that could split a header line is never sent.
  cfg_.token_file.clear();
  cfg_.token = "abc\r\nX-Evil: 1";
  r = run_kubernetes(cfg_, "kubernetes.scale", args, 3.0);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(seen().size(), 4u);
}

TEST_F(kubernetes, the_default_namespace_fills_in_and_stop_aborts) {
  cfg_.default_namespace = "prod";
  auto r = run("scale",
               {{"namespace", ""}, {"deployment", "web"}, {"replicas", "4"}});
  ASSERT_TRUE(r.ok) << r.reason;
  std::atomic<bool> stop{true};
  r = run_kubernetes(cfg_, "kubernetes.rollout_restart",
                     {{"namespace", "prod"}, {"deployment", "web"}}, 3.0,
                     &stop);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.reason, "stopped: the node is shutting down");
  EXPECT_EQ(seen().size(), 2u);
}

// -- in-cluster configuration -------------------------------------------------

// Sets an environment variable for one test and puts the old value back.
class scoped_env {
public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(kubernetes_config, in_cluster_config_reads_the_service_account) {
  vigil::test::temp_dir dir;
  auto root = dir.str();
  std::ofstream{root + "/token"} << "eyJhbGciOi.payload.sig\n";
  std::ofstream{root + "/ca.crt"} << "-----BEGIN CERTIFICATE-----\n";
  std::ofstream{root + "/namespace"} << "ops\n";
  {
    scoped_env host{"KUBERNETES_SERVICE_HOST", "10.96.0.1"};
    scoped_env port{"KUBERNETES_SERVICE_PORT", "443"};
    auto cfg = in_cluster_config(root);
    ASSERT_TRUE(cfg) << vigil::render(cfg.error());
    EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
    EXPECT_EQ(cfg->token, "eyJhbGciOi.payload.sig");
    EXPECT_EQ(cfg->token_file, root + "/token");
    EXPECT_EQ(cfg->ca_file, root + "/ca.crt");
    EXPECT_EQ(cfg->default_namespace, "ops");
    EXPECT_FALSE(cfg->insecure_skip_verify);
  }
  {
    scoped_env host{"KUBERNETES_SERVICE_HOST", "fd00::1"};
    scoped_env port{"KUBERNETES_SERVICE_PORT", "6443"};
    auto cfg = in_cluster_config(root);
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->server, "https://[fd00::1]:6443");
  }
  {
    scoped_env host{"KUBERNETES_SERVICE_HOST", nullptr};
    scoped_env port{"KUBERNETES_SERVICE_PORT", "443"};
    auto cfg = in_cluster_config(root);
    ASSERT_FALSE(cfg);
    EXPECT_EQ(cfg.error(), vigil::errc::invalid_config);
    EXPECT_NE(vigil::render(cfg.error()).find("not running in a Kubernetes"),
              std::string::npos);
  }
  {
    scoped_env host{"KUBERNETES_SERVICE_HOST", "10.96.0.1"};
    scoped_env port{"KUBERNETES_SERVICE_PORT", "443"};
    std::filesystem::remove(root + "/token");
    EXPECT_FALSE(in_cluster_config(root));
    std::ofstream{root + "/token"} << "t\n";
    std::filesystem::remove(root + "/ca.crt");
    EXPECT_FALSE(in_cluster_config(root));
  }
}

} // namespace
