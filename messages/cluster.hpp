#pragma once

// What cluster members tell each other: who is in the cluster, and the
// control node's durable records as they are written.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/type_ids.hpp"

namespace vigil {

/// One member of the cluster as a node sees it.
struct member_info {
  std::string id;
  /// HOST:PORT of its cluster (CAF) endpoint.
  std::string cluster;
  /// HOST:PORT of its HTTP API.
  std::string http;
  std::string version;
  /// When this run of the node started (wall ms): a restarted node, or one
  /// the others declared down, comes back with a newer incarnation. The
  /// oldest live incarnation is the control node.
  int64_t incarnation = 0;
  /// joining, up, suspect, down or left.
  std::string state;
  /// Wall-clock ms the viewer last heard from it (0 = never).
  int64_t heard_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("vigil.member_info"), x.id, x.cluster, x.http,
           x.version, x.incarnation, x.state, x.heard_ms);
}

/// One write of a replicated record in a column family: a put of key ->
/// value, a delete of key, or a delete of every key in [key, value).
struct repl_op {
  enum kind_t : uint8_t { put = 0, erase = 1, erase_range = 2 };
  uint8_t column = 0;
  uint8_t kind = put;
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, repl_op& x) {
  return f(caf::meta::type_name("vigil.repl_op"), x.column, x.kind, x.key,
           x.value);
}

/// Writes of the control node, in the order it made them. A batch with
/// `reset` starts a full copy: the follower first drops what it holds of
/// the replicated columns.
struct repl_batch {
  /// The control node and its incarnation; a follower takes batches only
  /// from the control node it knows.
  std::string leader;
  int64_t incarnation = 0;
  /// Sequence number of the batch in this leader's stream, from 1.
  uint64_t seq = 0;
  bool reset = false;
  std::vector<repl_op> ops;
  /// The leader's write counter after the last op of this batch: a
  /// follower that applied it confirms holding every write up to here.
  uint64_t through = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, repl_batch& x) {
  return f(caf::meta::type_name("vigil.repl_batch"), x.leader, x.incarnation,
           x.seq, x.reset, x.ops, x.through);
}

} // namespace vigil
