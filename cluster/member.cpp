#include "cluster/member.hpp"

#include <algorithm>
#include <set>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "cluster/bootstrap.hpp"
#include "cluster/ring.hpp"
#include "config/units.hpp"
#include "messages/errc.hpp"
#include "runtime/clock.hpp"
#include "runtime/hash.hpp"
#include "runtime/storage/audit_log.hpp"

namespace vigil::cluster {

std::string_view snapshot_service(std::string_view key) {
  // Log state is kept under SERVICE + "\x1f" + "logs".
  return key.substr(0, key.find('\x1f'));
}

namespace {

repl_op make_op(uint8_t column, uint8_t kind, std::string_view key,
                std::string_view value) {
  repl_op op;
  op.column = column;
  op.kind = kind;
  op.key.assign(key);
  op.value.assign(value);
  return op;
}

} // namespace

void replicate_writes(storage::store& db, std::shared_ptr<cluster_view> view,
                      std::shared_ptr<repl_queue> queue,
                      std::shared_ptr<repl_queue> snapshots) {
  db.set_observer([view, queue, snapshots](storage::column c,
                                           storage::store::op_kind k,
                                           std::string_view key,
                                           std::string_view value) {
    if (c == storage::column::snapshots) {
      // Detector state goes to every member, whoever owns the shard.
      snapshots->push(make_op(static_cast<uint8_t>(c),
                              static_cast<uint8_t>(k), key, value));
      return;
    }
    // Followers apply the control node's writes without the observer;
    // anything else a follower writes is its own business.
    if (!storage::replicated(c) || !view->leading())
      return;
    queue->push(make_op(static_cast<uint8_t>(c), static_cast<uint8_t>(k), key,
                        value),
                view->note_written());
  });
}

std::string token_proof(const std::string& admin_token) {
  return storage::to_hex(
    storage::sha256("vigil cluster membership v1\n" + admin_token));
}

namespace {

using self_ptr = caf::stateful_actor<member_state>*;
using clock = member_state::clock;

constexpr size_t max_ops_per_batch = 2000;

std::vector<member_info> view_list(self_ptr self) {
  auto& st = self->state;
  std::vector<member_info> out;
  auto me = st.self;
  me.state = st.joined ? "up" : "joining";
  me.heard_ms = wall_ms();
  out.push_back(me);
  for (auto& [id, p] : st.peers)
    out.push_back(p.info);
  return out;
}

bool live(const std::string& state) {
  return state == "up" || state == "suspect";
}

// Whether a strict majority of `view`'s members (a member's list, itself
// included; left ones not counted) pass `counts`.
template <class Pred>
bool majority_of(const std::vector<member_info>& view, Pred counts) {
  size_t members = 0;
  size_t passed = 0;
  for (auto& m : view) {
    if (m.state == "left")
      continue;
    ++members;
    passed += counts(m) ? 1 : 0;
  }
  return passed * 2 > members;
}

// Whether `view` sees a strict majority of its members alive.
bool majority(const std::vector<member_info>& view) {
  return majority_of(view, [](const member_info& m) {
    return live(m.state) || m.state == "joining";
  });
}

// Whether a strict majority of `view`'s members are up in it: heard
// lately, not merely suspect. Only such a view may declare a member down.
// A node cut off alone sees the others fade through suspect to down one
// heartbeat apart; for that moment the suspects count as alive, and the
// beats it sends then wait in the cut link and arrive after the heal,
// naming the majority's members down.
bool majority_up(const std::vector<member_info>& view) {
  return majority_of(view,
                     [](const member_info& m) { return m.state == "up"; });
}

// Who may act: the control node while a majority of the members (this one
// included, left ones not counted) echoed one of its heartbeats sent
// within the lease: a round trip, so a reply delayed or queued (this node
// paused, a link stalled) renews nothing.
void renew_lease(self_ptr self) {
  auto& st = self->state;
  auto& view = *st.cfg.view;
  if (!st.leading) {
    view.set_lease_until(clock::time_point::min());
    return;
  }
  std::vector<clock::time_point> heard;
  size_t members = 1;
  for (auto& [id, p] : st.peers) {
    if (p.info.state == "left")
      continue;
    ++members;
    heard.push_back(p.echoed);
  }
  auto others_needed = members / 2;
  if (others_needed == 0) {
    view.set_lease_until(clock::time_point::max());
    return;
  }
  std::sort(heard.begin(), heard.end(), std::greater<>{});
  view.set_lease_until(heard[others_needed - 1] + st.cfg.opts.lease);
}

// Recomputes states, placement and the control node; publishes the view.
void publish(self_ptr self) {
  auto& st = self->state;
  auto& cfg = st.cfg;
  auto now = clock::now();
  for (auto& [id, p] : st.peers) {
    if (p.info.state == "left" || p.info.state == "down")
      continue;
    // After this node itself stalled (paused, swapped out), the silence is
    // its own: it judges nobody until the others had time to speak again.
    if (now < st.judge_after)
      continue;
    auto silence = now - p.heard;
    auto next = silence >= cfg.opts.down_after      ? "down"
                : silence >= cfg.opts.suspect_after ? "suspect"
                                                    : "up";
    if (p.info.state != next) {
      if (std::string{next} == "down")
        spdlog::warn("cluster: {} is down (silent for {} ms)", id,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                       silence)
                       .count());
      else if (std::string{next} == "suspect")
        spdlog::info("cluster: {} is suspect", id);
      p.info.state = next;
    }
  }
  auto next = std::make_shared<cluster_view::state>();
  next->clustered = !cfg.seeds.empty();
  next->joined = st.joined;
  {
    cluster_view::member me;
    me.info = st.self;
    me.info.state = st.joined ? "up" : "joining";
    me.info.heard_ms = wall_ms();
    me.self = true;
    next->members.push_back(std::move(me));
  }
  for (auto& [id, p] : st.peers) {
    cluster_view::member m;
    m.info = p.info;
    m.door = p.door;
    next->members.push_back(std::move(m));
  }
  std::sort(next->members.begin(), next->members.end(),
            [](auto& x, auto& y) { return x.info.id < y.info.id; });
  std::vector<std::string> ids;
  std::vector<bool> alive;
  // Owners: live members that have been up for handoff_delay (while a
  // member that just came up receives the state of the shards it will
  // own); a live member that is the only candidate owns at once.
  std::vector<bool> eligible;
  for (size_t i = 0; i < next->members.size(); ++i) {
    auto& m = next->members[i];
    if (m.self)
      next->self = static_cast<int32_t>(i);
    ids.push_back(m.info.id);
    alive.push_back(st.joined && live(m.info.state));
    auto since = m.self ? st.joined_at : st.peers[m.info.id].up_since;
    eligible.push_back(alive.back()
                       && since + cfg.opts.handoff_delay <= now);
  }
  if (std::none_of(eligible.begin(), eligible.end(), [](bool x) { return x; }))
    eligible = alive;
  if (st.joined) {
    // The control node: the oldest live incarnation (ties by id), so a
    // node that rejoins never takes the role back from a working one.
    int32_t best = cluster_view::state::none;
    for (size_t i = 0; i < next->members.size(); ++i) {
      if (!alive[i])
        continue;
      auto& m = next->members[i].info;
      if (best == cluster_view::state::none)
        best = static_cast<int32_t>(i);
      auto& b = next->members[static_cast<size_t>(best)].info;
      if (std::tie(m.incarnation, m.id) < std::tie(b.incarnation, b.id))
        best = static_cast<int32_t>(i);
    }
    next->leader = best;
  }
  auto placed = place(cfg.opts.shards, ids, eligible);
  if (eligible != alive && next->self != cluster_view::state::none) {
    // Shards this node owns that will move to a member coming up: their
    // detectors snapshot now, and the stream carries the state over.
    auto future = place(cfg.opts.shards, ids, alive);
    for (uint32_t s = 0; s < cfg.opts.shards; ++s) {
      if (placed.primary[s] != next->self || future.primary[s] == next->self)
        continue;
      auto [it, fresh] = st.handing_off.emplace(s, future.primary[s]);
      if (!fresh && it->second == future.primary[s])
        continue;
      it->second = future.primary[s];
      if (st.handoffs)
        st.handoffs->inc();
      if (cfg.on_handoff)
        cfg.on_handoff(s);
    }
  } else {
    st.handing_off.clear();
  }
  next->primary = placed.primary;
  next->replica = placed.replica;
  if (st.epochs.size() != cfg.opts.shards) {
    st.epochs.assign(cfg.opts.shards, 0);
    st.last_owner.assign(cfg.opts.shards, std::string{});
  }
  // last_primary holds member ids' indices of the previous view, which
  // may differ from this one's: compare by id.
  for (uint32_t s = 0; s < cfg.opts.shards; ++s) {
    auto owner = placed.primary[s] < 0
                   ? std::string{}
                   : ids[static_cast<size_t>(placed.primary[s])];
    if (owner != st.last_owner[s]) {
      ++st.epochs[s];
      if (owner == st.self.id && !st.last_owner[s].empty() && cfg.on_gain)
        cfg.on_gain(s);
      st.last_owner[s] = owner;
    }
  }
  next->epoch = st.epochs;
  next->version = ++st.version;
  bool lead = next->self_is_leader();
  if (lead && !st.leading) {
    // Writes before this moment were a follower's; the stream restarts and
    // every follower gets a full copy first.
    cfg.queue->clear();
    st.sent_seq = 0;
    for (auto& [id, p] : st.peers)
      p.synced = false;
  }
  if (cfg.metrics) {
    auto& fam = cfg.metrics->gauges("vigil_cluster_nodes",
                                    "Cluster members, by state.", {"state"});
    std::map<std::string, double> counts{{"joining", 0}, {"up", 0},
                                         {"suspect", 0}, {"down", 0},
                                         {"left", 0}};
    for (auto& m : next->members)
      counts[m.info.state] += 1;
    for (auto& [state, n] : counts)
      fam.with({state}).set(n);
    cfg.metrics->gauge_("vigil_shards_owned", "Shards this node owns.")
      .set(next->owned());
    cfg.metrics->gauge_("vigil_cluster_leader",
                        "1 when this node is the control node.")
      .set(lead ? 1 : 0);
  }
  cfg.view->set(std::move(next));
  // Cut off with a minority (the others fell silent): when contact comes
  // back, this node rejoins as a new incarnation rather than resuming the
  // place the majority gave up on.
  if (st.joined && !st.peers.empty() && !majority(view_list(self)))
    st.must_rejoin = true;
  if (lead != st.leading || (!st.role_told && st.joined)) {
    st.role_told = true;
    st.leading = lead;
    renew_lease(self);
    spdlog::info("cluster: this node {} the control node",
                 lead ? "is now" : "is no longer");
    if (cfg.on_role)
      cfg.on_role(lead);
  } else {
    renew_lease(self);
  }
}

void send_join(self_ptr self, const caf::actor& door);

// Sets a peer's door and watches it: when the connection behind it dies
// (the peer was killed, paused past CAF's connection timeout, or cut off),
// the door is dropped and a later heartbeat tick connects again.
void set_door(self_ptr self, member_state::peer& p, caf::actor door) {
  if (!door || p.door == door)
    return;
  p.door = std::move(door);
  self->monitor(p.door);
}

// Connects to HOST:PORT without blocking; `then` gets the door.
template <class F>
void connect(self_ptr self, const std::string& address, F then) {
  auto hp = parse_host_port(address);
  if (!hp) {
    spdlog::error("cluster: cannot join {}: {}", address, hp.error);
    return;
  }
  auto mm = connector(self->system(), self->state.cfg.tls);
  self
    ->request(mm, std::chrono::seconds{2}, caf::connect_atom::value,
              hp.value->host, hp.value->port)
    .then(
      [self, then, address](const caf::node_id&, caf::strong_actor_ptr& ptr,
                            const std::set<std::string>&) mutable {
        if (!ptr) {
          spdlog::debug("cluster: {} published nothing", address);
          return;
        }
        then(caf::actor_cast<caf::actor>(ptr));
      },
      [address](caf::error& err) {
        spdlog::debug("cluster: cannot reach {}: {}", address,
                      to_string(err));
      });
}

void merge(self_ptr self, const std::vector<member_info>& xs,
           bool from_join_reply) {
  auto& st = self->state;
  auto now = clock::now();
  for (auto& m : xs) {
    if (m.id == st.self.id)
      continue;
    auto i = st.peers.find(m.id);
    if (i == st.peers.end()) {
      if (!live(m.state) && m.state != "joining")
        continue;
      member_state::peer p;
      p.info = m;
      p.info.state = "up";
      // Benefit of the doubt: it has down_after to answer us directly.
      p.heard = now;
      // Members already owning shards when this node learns of them (a
      // join reply) own them at once; one that is joining waits.
      p.up_since = m.state == "joining" ? now : clock::time_point{};
      st.peers.emplace(m.id, std::move(p));
      continue;
    }
    auto& p = i->second;
    if (m.incarnation > p.info.incarnation
        && (live(m.state) || m.state == "joining")) {
      // A new run of that node: its old door is dead.
      p.info = m;
      p.info.state = "up";
      p.heard = now;
      p.up_since = now;
      p.door = nullptr;
      p.synced = false;
      p.snaps_synced = false;
    } else if (m.incarnation == p.info.incarnation && m.state == "left") {
      p.info.state = "left";
    } else if (from_join_reply && m.incarnation == p.info.incarnation
               && live(m.state)) {
      // The member that let this node in vouches for the ones it sees.
      p.info.cluster = m.cluster;
      p.info.http = m.http;
      if (p.info.state == "down") {
        p.info.state = "up";
        p.heard = now;
      }
    }
  }
}

void send_join(self_ptr self, const caf::actor& door) {
  auto& st = self->state;
  auto me = st.self;
  me.state = "joining";
  self
    ->request(door, std::chrono::seconds{3}, atom::join_v, me, st.cfg.proof)
    .then(
      [self, door](std::vector<member_info>& xs) {
        auto& st = self->state;
        if (xs.empty())
          return;
        merge(self, xs, true);
        // The answering node is heard now, and reached through this door.
        if (auto i = st.peers.find(xs.front().id); i != st.peers.end()) {
          set_door(self, i->second, door);
          i->second.heard = clock::now();
          i->second.info.state = "up";
        }
        if (!st.joined) {
          st.joined = true;
          st.joining = false;
          st.joined_at = clock::now();
          spdlog::info("cluster: joined through {} ({} members)",
                       xs.front().id, st.peers.size() + 1);
        }
        publish(self);
      },
      [self](caf::error& err) {
        self->state.joining = false;
        auto why = render(err);
        spdlog::warn("cluster: join refused: {}", why);
        // Another token or a clashing id will not change by retrying.
        if (err.category() == caf::atom("vigil")
            && (err.code() == static_cast<uint8_t>(errc::unauthorized)
                || err.code() == static_cast<uint8_t>(errc::invalid_config)))
          self->state.cfg.view->set_refusal(why);
      });
}

void try_join(self_ptr self) {
  auto& st = self->state;
  if (st.joining)
    return;
  st.joining = true;
  // Known members first (a node declared down rejoins through them), then
  // the seeds.
  for (auto& [id, p] : st.peers)
    if (p.door)
      send_join(self, p.door);
  for (auto& seed : st.cfg.seeds) {
    if (seed == st.self.cluster)
      continue;
    connect(self, seed, [self](caf::actor door) { send_join(self, door); });
  }
  // Try again on a later tick if nobody answers.
  self->delayed_send(self, std::chrono::seconds{2}, atom::join_v);
}

// The cluster declared this node down (it was paused or cut off): it gave
// up its role when its lease ran out; now it comes back as a new
// incarnation, which never outranks the members that carried on.
// `by`: the member whose view said so; empty when this node found itself
// cut off with a minority.
void declared_down(self_ptr self, const std::string& by) {
  auto& st = self->state;
  if (by.empty())
    spdlog::warn("cluster: this node was cut off with a minority; "
                 "rejoining as a new incarnation");
  else
    spdlog::warn("cluster: {} and the majority it hears declared this node "
                 "down (it was paused or cut off); rejoining as a new "
                 "incarnation",
                 by);
  st.self.incarnation = std::max(wall_ms(), st.self.incarnation + 1);
  st.must_rejoin = false;
  st.joined = false;
  // A fresh start for the judgement of the others too: they get
  // down_after to be heard again.
  for (auto& [id, p] : st.peers)
    if (p.info.state != "left") {
      p.info.state = "up";
      p.heard = clock::now();
    }
  st.joining = false;
  publish(self);
  try_join(self);
}

void heartbeat(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
  if (st.last_tick != clock::time_point{}
      && now - st.last_tick > st.cfg.opts.suspect_after) {
    spdlog::warn("cluster: this node was stalled for {} ms; it judges no "
                 "member until it hears from them again",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                   now - st.last_tick)
                   .count());
    st.judge_after = now + st.cfg.opts.down_after;
  }
  st.last_tick = now;
  if (!st.joined && !st.cfg.seeds.empty())
    try_join(self);
  auto list = view_list(self);
  for (auto& [id, p] : st.peers) {
    if (p.info.state == "left")
      continue;
    if (!p.door) {
      if (!p.connecting && !p.info.cluster.empty()) {
        p.connecting = true;
        auto peer_id = id;
        auto inc = p.info.incarnation;
        connect(self, p.info.cluster, [self, peer_id, inc](caf::actor door) {
          auto i = self->state.peers.find(peer_id);
          if (i == self->state.peers.end())
            return;
          i->second.connecting = false;
          if (i->second.info.incarnation == inc)
            set_door(self, i->second, door);
        });
        // A connection attempt that fails leaves `connecting` set; clear it
        // after the attempt's timeout so a later tick tries again.
        self->delayed_send(self, std::chrono::seconds{3}, atom::locate_v,
                           peer_id);
      }
      continue;
    }
    self->send(p.door, atom::beat_v, list.front(), list,
               clock::now().time_since_epoch().count(), p.their_sent);
  }
  publish(self);
}

void full_copy(self_ptr self, member_state::peer& p, uint64_t through) {
  auto& st = self->state;
  repl_batch b;
  b.leader = st.self.id;
  b.incarnation = st.self.incarnation;
  b.seq = ++st.sent_seq;
  b.reset = true;
  auto flush = [&] {
    self->send(p.door, atom::replicate_v, std::move(b));
    b = repl_batch{};
    b.leader = st.self.id;
    b.incarnation = st.self.incarnation;
    b.seq = ++st.sent_seq;
  };
  for (uint8_t c = 0; c < storage::column_count; ++c) {
    auto col = static_cast<storage::column>(c);
    if (!storage::replicated(col))
      continue;
    (void) st.cfg.store->scan(col, "", [&](auto key, auto value) {
      b.ops.push_back(make_op(c, repl_op::put, key, value));
      if (b.ops.size() >= max_ops_per_batch)
        flush();
      return true;
    });
  }
  if (st.repl_ops_sent)
    st.repl_ops_sent->inc(b.ops.size());
  b.through = through;
  self->send(p.door, atom::replicate_v, std::move(b));
  p.synced = true;
  spdlog::info("cluster: sent a full copy of the control records to {}",
               p.info.id);
}

// This node's detector snapshots of the shards it owns, for a member that
// has none of them yet.
void snapshot_copy(self_ptr self, member_state::peer& p) {
  auto& st = self->state;
  auto view = st.cfg.view->get();
  repl_batch b;
  b.leader = st.self.id;
  b.incarnation = st.self.incarnation;
  auto col = static_cast<uint8_t>(storage::column::snapshots);
  auto send = [&] {
    if (!b.ops.empty())
      self->send(p.door, atom::snapshot_v, std::move(b));
    b.ops.clear();
  };
  (void) st.cfg.store->scan(storage::column::snapshots, "",
                            [&](auto key, auto value) {
    auto shard = service_shard(snapshot_service(key), st.cfg.opts.shards);
    if (shard < view->primary.size() && view->primary[shard] == view->self) {
      b.ops.push_back(make_op(col, repl_op::put, key, value));
      if (b.ops.size() >= max_ops_per_batch / 10)
        send();
    }
    return true;
  });
  send();
  p.snaps_synced = true;
}

void ship_snapshots(self_ptr self) {
  auto& st = self->state;
  if (!st.cfg.snapshots)
    return;
  auto ops = st.cfg.snapshots->take();
  for (auto& [id, p] : st.peers) {
    if (!p.door || !live(p.info.state))
      continue;
    if (!p.snaps_synced) {
      snapshot_copy(self, p);
      continue;
    }
    if (ops.empty())
      continue;
    repl_batch b;
    b.leader = st.self.id;
    b.incarnation = st.self.incarnation;
    b.ops = ops;
    self->send(p.door, atom::snapshot_v, std::move(b));
  }
}

void ship(self_ptr self) {
  auto& st = self->state;
  ship_snapshots(self);
  if (!st.leading)
    return;
  uint64_t through = 0;
  auto ops = st.cfg.queue->take(&through);
  // Alone: no live member at all. A member merely out of reach (no door
  // yet, or this node was paused and its connections dropped) must still
  // confirm the records before anything they carry is announced or run.
  bool alone = true;
  for (auto& [id, p] : st.peers) {
    if (!live(p.info.state))
      continue;
    alone = false;
    if (!p.door)
      continue;
    if (!p.synced) {
      // The copy reads the store as it is now, which already holds `ops`.
      full_copy(self, p, std::max(through, st.cfg.view->written()));
      continue;
    }
    for (size_t i = 0; i < ops.size(); i += max_ops_per_batch) {
      repl_batch b;
      b.leader = st.self.id;
      b.incarnation = st.self.incarnation;
      b.seq = ++st.sent_seq;
      auto end = std::min(ops.size(), i + max_ops_per_batch);
      b.ops.assign(ops.begin() + static_cast<ptrdiff_t>(i),
                   ops.begin() + static_cast<ptrdiff_t>(end));
      if (end == ops.size())
        b.through = through;
      if (st.repl_ops_sent)
        st.repl_ops_sent->inc(b.ops.size());
      self->send(p.door, atom::replicate_v, std::move(b));
    }
  }
  // With no member to hold them, the records are as safe as they get.
  st.cfg.view->set_alone(alone);
}

caf::error apply(self_ptr self, repl_batch& b) {
  auto& st = self->state;
  auto view = st.cfg.view->get();
  auto leader = view->leader;
  if (st.leading || leader == cluster_view::state::none
      || view->members[static_cast<size_t>(leader)].info.id != b.leader
      || view->members[static_cast<size_t>(leader)].info.incarnation
           != b.incarnation) {
    if (st.repl_refused)
      st.repl_refused->inc();
    return caf::make_error(errc::unavailable,
                           "replicated writes from " + b.leader
                             + ", which is not this node's control node");
  }
  auto& db = *st.cfg.store;
  if (b.reset) {
    for (uint8_t c = 0; c < storage::column_count; ++c) {
      auto col = static_cast<storage::column>(c);
      if (!storage::replicated(col))
        continue;
      storage::write_batch wipe;
      (void) db.scan(col, "", [&](auto key, auto) {
        wipe.erase(col, key);
        return true;
      });
      if (auto err = db.apply(wipe))
        return err;
    }
  }
  storage::write_batch batch;
  for (auto& op : b.ops) {
    if (op.column >= storage::column_count
        || !storage::replicated(static_cast<storage::column>(op.column)))
      return caf::make_error(errc::malformed,
                             "replicated write to column "
                               + std::to_string(op.column)
                               + ", which is not replicated");
    auto col = static_cast<storage::column>(op.column);
    switch (op.kind) {
      case repl_op::put:
        batch.put(col, op.key, op.value);
        break;
      case repl_op::erase:
        batch.erase(col, op.key);
        break;
      case repl_op::erase_range:
        if (batch.size() > 0) {
          if (auto err = db.apply(batch))
            return err;
          batch = storage::write_batch{};
        }
        if (auto err = db.erase_range(col, op.key, op.value))
          return err;
        break;
      default:
        return caf::make_error(errc::malformed,
                               "replicated write of unknown kind "
                                 + std::to_string(op.kind));
    }
  }
  if (batch.size() > 0)
    if (auto err = db.apply(batch))
      return err;
  st.applied_seq = b.seq;
  if (st.repl_ops_applied)
    st.repl_ops_applied->inc(b.ops.size());
  return {};
}

caf::actor local(self_ptr self, caf::atom_value key) {
  return caf::actor_cast<caf::actor>(self->system().registry().get(key));
}

// Hands `n` items a follower relayed to the local actor under `key`,
// counted in this node's load meter (the actor releases them).
template <class Batch>
void relay_in(self_ptr self, caf::atom_value key, uint32_t slot, Batch x,
              size_t n) {
  auto& st = self->state;
  if (auto h = local(self, key)) {
    st.cfg.load->add(slot, n);
    self->send(h, atom::ingest_v, std::move(x));
  } else if (st.relay_dropped) {
    st.relay_dropped->inc(n);
  }
}

} // namespace

caf::behavior member(caf::stateful_actor<member_state>* self,
                     member_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.self = st.cfg.self;
  st.joined = st.cfg.seeds.empty();
  st.joined_at = clock::now();
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto& [id, p] : self->state.peers)
      if (p.door && p.door.address() == msg.source) {
        spdlog::info("cluster: lost the connection to {}", id);
        p.door = nullptr;
        p.connecting = false;
      }
  });
  self->attach_functor([self](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      spdlog::critical("cluster: the membership actor stopped: {}",
                       self->system().render(reason));
  });
  // Nothing a peer sends may stop the door: unknown messages are logged
  // and dropped.
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& x) -> caf::result<caf::message> {
      spdlog::warn("cluster: dropped an unexpected message: {}",
                   to_string(x.content()));
      if (ptr->current_mailbox_element()->mid.is_request())
        return caf::sec::unexpected_message;
      // CAF 0.17 sends a handler's result back even for a plain send;
      // "delegated" sends nothing.
      return caf::delegated<caf::message>{};
    });
  // An error sent to the door (a failed reply to a plain send) must not
  // stop it, which CAF's default error handler would.
  self->set_error_handler([self](caf::error& err) {
    spdlog::warn("cluster: a peer reported an error: {}",
                 self->system().render(err));
  });
  self->set_exception_handler(
    [](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
      try {
        std::rethrow_exception(eptr);
      } catch (const std::exception& e) {
        spdlog::critical("cluster: the membership actor failed: {}",
                         e.what());
      } catch (...) {
        spdlog::critical("cluster: the membership actor failed");
      }
      return caf::make_error(errc::internal, "membership actor failed");
    });
  if (st.cfg.metrics) {
    auto& m = *st.cfg.metrics;
    st.beats_in = &m.counter_("vigil_cluster_heartbeats_received_total",
                              "Membership heartbeats received.");
    auto& ops = m.counters("vigil_cluster_replicated_ops_total",
                           "Control-record writes replicated, by direction.",
                           {"direction"});
    st.repl_ops_sent = &ops.with({"sent"});
    st.repl_ops_applied = &ops.with({"applied"});
    st.repl_refused = &m.counter_(
      "vigil_cluster_replication_refused_total",
      "Replicated batches refused (not from this node's control node).");
    st.handoffs = &m.counter_(
      "vigil_cluster_handoffs_total",
      "Shards this node snapshotted to hand them to a member coming up.");
    st.relay_dropped = &m.counter_(
      "vigil_cluster_relay_dropped_total",
      "Relayed items dropped because their actor was not running here.");
  }
  return {
    [self](atom::configure, const std::string& cluster_address) {
      // The node's own cluster address is known once the port is bound;
      // membership starts here.
      auto& st = self->state;
      if (!st.self.cluster.empty())
        return;
      st.self.cluster = cluster_address;
      publish(self);
      self->send(self, atom::tick_v);
      self->send(self, atom::flush_v);
    },
    [self](atom::tick) {
      heartbeat(self);
      self->delayed_send(self, self->state.cfg.opts.heartbeat_interval,
                         atom::tick_v);
    },
    [self](atom::flush) {
      ship(self);
      self->delayed_send(self, self->state.cfg.repl_tick, atom::flush_v);
    },
    [self](atom::join) {
      // The retry timer of try_join.
      if (!self->state.joined) {
        self->state.joining = false;
        try_join(self);
      }
    },
    [self](atom::locate, const std::string& peer_id) {
      // The timeout of a connection attempt.
      auto i = self->state.peers.find(peer_id);
      if (i != self->state.peers.end() && !i->second.door)
        i->second.connecting = false;
    },
    [self](atom::join, member_info& m,
           const std::string& proof) -> caf::result<std::vector<member_info>> {
      auto& st = self->state;
      if (proof != st.cfg.proof)
        return caf::make_error(errc::unauthorized,
                               "node " + m.id
                                 + " holds another admin token; the nodes "
                                   "of one cluster share it "
                                   "(security.admin_token_file)");
      if (m.id == st.self.id)
        return caf::make_error(errc::invalid_config,
                               "node " + m.id
                                 + " has this node's id; every node needs "
                                   "its own (--node-id, or its own data dir)");
      auto& p = st.peers[m.id];
      if (m.incarnation < p.info.incarnation)
        return caf::make_error(errc::unavailable,
                               "an older run of node " + m.id);
      bool fresh = p.info.incarnation != m.incarnation;
      if (fresh || p.info.state != "up")
        p.up_since = clock::now();
      p.info = m;
      p.info.state = "up";
      p.heard = clock::now();
      set_door(self, p, caf::actor_cast<caf::actor>(self->current_sender()));
      p.connecting = false;
      // A joining node gets a full copy, even when this node already sent
      // one to this incarnation: before it joined, it refused that copy (it
      // did not know this node as its control node yet).
      p.synced = false;
      if (fresh)
        p.snaps_synced = false;
      spdlog::info("cluster: {} joined (cluster {}, http {})", m.id,
                   m.cluster, m.http);
      publish(self);
      return view_list(self);
    },
    [self](atom::beat, member_info& from, std::vector<member_info>& theirs,
           int64_t sent, int64_t echo) {
      auto& st = self->state;
      if (st.beats_in)
        st.beats_in->inc();
      // Declared down by the majority's side: rejoin anew. A minority's
      // verdict (a node cut off with a few) changes nothing here.
      for (auto& m : theirs)
        if (m.id == st.self.id && m.incarnation == st.self.incarnation
            && m.state == "down" && majority_up(theirs)) {
          declared_down(self, from.id);
          return;
        }
      if (st.must_rejoin) {
        declared_down(self, "");
        return;
      }
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto i = st.peers.find(from.id);
      if (i != st.peers.end()) {
        auto& p = i->second;
        if (from.incarnation < p.info.incarnation)
          return; // an old run
        if (from.incarnation == p.info.incarnation
            && (p.info.state == "down" || p.info.state == "left")) {
          // A member this node gave up on: tell it (with the majority's
          // view, which it heeds) so it rejoins anew as a new incarnation,
          // never outranking the others.
          auto mine = view_list(self);
          if (sender && (p.info.state == "left" || majority_up(mine)))
            self->send(sender, atom::beat_v, mine.front(), mine,
                       clock::now().time_since_epoch().count(), int64_t{0});
          return;
        }
        if (from.incarnation > p.info.incarnation) {
          p.synced = false;
          p.snaps_synced = false;
          p.up_since = clock::now();
        }
      } else {
        st.peers[from.id].up_since = clock::now();
      }
      auto& p = st.peers[from.id];
      p.info = from;
      p.info.state = "up";
      p.info.heard_ms = wall_ms();
      p.heard = clock::now();
      p.their_sent = sent;
      // Only this node's own clock, and never backwards, nor ahead of now.
      auto echoed = clock::time_point{clock::duration{echo}};
      if (echo != 0 && echoed > p.echoed && echoed <= clock::now())
        p.echoed = echoed;
      set_door(self, p, sender);
      p.connecting = false;
      merge(self, theirs, false);
      publish(self);
    },
    [self](atom::leave, member_info& m) {
      auto i = self->state.peers.find(m.id);
      if (i != self->state.peers.end()
          && i->second.info.incarnation == m.incarnation) {
        spdlog::info("cluster: {} left", m.id);
        i->second.info.state = "left";
        i->second.door = nullptr;
        publish(self);
      }
    },
    [self](atom::leave) -> bool {
      // Graceful leave (SIGTERM): tell everyone, so they move the shards
      // now rather than after down_after.
      auto& st = self->state;
      auto me = st.self;
      me.state = "left";
      for (auto& [id, p] : st.peers)
        if (p.door && live(p.info.state))
          self->send(p.door, atom::leave_v, me);
      return true;
    },
    [self](atom::members) { return view_list(self); },
    [self](atom::locate,
           caf::atom_value key) -> caf::result<caf::actor> {
      auto h = local(self, key);
      if (!h)
        return caf::make_error(errc::unavailable,
                               "not running on " + self->state.self.id);
      return h;
    },
    [self](atom::replicate, repl_batch& b) {
      // A plain send, so no reply: a lost or refused batch shows in the
      // metrics and the log, and a new control node sends a full copy.
      if (auto err = apply(self, b)) {
        spdlog::warn("cluster: replicated batch {} not applied: {}", b.seq,
                     render(err));
        return;
      }
      // Held: the control node may announce what these writes carried.
      if (b.through > 0)
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          self->send(sender, atom::replicate_v, atom::ok_v, b.leader,
                     b.incarnation, b.through);
    },
    [self](atom::replicate, atom::ok, const std::string& leader,
           int64_t incarnation, uint64_t through) {
      auto& st = self->state;
      if (st.leading && leader == st.self.id
          && incarnation == st.self.incarnation)
        st.cfg.view->note_acked(through);
    },
    [self](atom::snapshot, repl_batch& b) {
      // Another member's detector state: kept for the shards this node
      // does not own (if one comes here, its detectors start from it).
      auto& st = self->state;
      auto view = st.cfg.view->get();
      storage::write_batch batch;
      for (auto& op : b.ops) {
        if (op.column != static_cast<uint8_t>(storage::column::snapshots))
          continue;
        auto shard = service_shard(snapshot_service(op.key),
                                   st.cfg.opts.shards);
        if (shard < view->primary.size() && view->primary[shard] == view->self)
          continue;
        if (op.kind == repl_op::put)
          batch.put(storage::column::snapshots, op.key, op.value);
        else if (op.kind == repl_op::erase)
          batch.erase(storage::column::snapshots, op.key);
      }
      if (batch.size() > 0)
        if (auto err = st.cfg.store->apply(batch))
          spdlog::warn("cluster: detector state from {} not kept: {}",
                       b.leader, render(err));
      if (st.repl_ops_applied)
        st.repl_ops_applied->inc(batch.size());
    },
    [self](atom::status) {
      return self->delegate(self->state.cfg.admin, atom::status_v);
    },
    [self](atom::console, console_request& r) {
      return self->delegate(self->state.cfg.admin, atom::console_v,
                            std::move(r));
    },
    [self](atom::forward, std::vector<sample_batch>& xs) {
      return self->delegate(local(self, self->state.cfg.ingest_key),
                            atom::forward_v, std::move(xs));
    },
    [self](atom::forward, std::vector<log_batch>& xs) {
      return self->delegate(local(self, self->state.cfg.ingest_key),
                            atom::forward_v, std::move(xs));
    },
    // Items a follower's forwarder relays to this (control) node: admitted
    // to this node's load meter, which the owner releases.
    [self](atom::relay, anomaly_event& ev) {
      auto& st = self->state;
      if (auto h = local(self, st.cfg.correlator_key))
        self->send(h, atom::anomaly_v, std::move(ev));
      else if (st.relay_dropped)
        st.relay_dropped->inc();
    },
    [self](atom::relay, alert_batch& x) {
      auto n = x.alerts.size();
      relay_in(self, self->state.cfg.correlator_key,
               self->state.cfg.load->correlator_slot(), std::move(x), n);
    },
    [self](atom::relay, change_batch& x) {
      auto n = x.changes.size();
      relay_in(self, self->state.cfg.correlator_key,
               self->state.cfg.load->correlator_slot(), std::move(x), n);
    },
    [self](atom::relay, span_batch& x) {
      auto n = x.spans.size();
      relay_in(self, self->state.cfg.rca_key, self->state.cfg.load->rca_slot(),
               std::move(x), n);
    },
    [self](atom::relay, topology_update& x) {
      auto n = x.edges.size();
      relay_in(self, self->state.cfg.rca_key, self->state.cfg.load->rca_slot(),
               std::move(x), n);
    },
  };
}

caf::behavior forwarder(caf::event_based_actor* self,
                        std::shared_ptr<cluster_view> view,
                        std::shared_ptr<load_meter> load,
                        std::shared_ptr<metrics::registry> metrics) {
  auto& fam = metrics->counters(
    "vigil_cluster_relayed_total",
    "Items this follower relayed to the control node, by outcome.",
    {"outcome"});
  auto* sent = &fam.with({"sent"});
  auto* dropped = &fam.with({"no_control_node"});
  auto relay = [self, view, sent, dropped](auto&& item, uint64_t n) {
    auto door = view->get()->leader_door();
    if (!door) {
      dropped->inc(n);
      return;
    }
    sent->inc(n);
    self->send(door, atom::relay_v, std::forward<decltype(item)>(item));
  };
  return {
    [relay](atom::anomaly, anomaly_event& ev) { relay(std::move(ev), 1); },
    [relay, load](atom::ingest, alert_batch& x) {
      auto n = x.alerts.size();
      load->release(load->correlator_slot(), n);
      relay(std::move(x), n);
    },
    [relay, load](atom::ingest, change_batch& x) {
      auto n = x.changes.size();
      load->release(load->correlator_slot(), n);
      relay(std::move(x), n);
    },
    [relay, load](atom::ingest, span_batch& x) {
      auto n = x.spans.size();
      load->release(load->rca_slot(), n);
      relay(std::move(x), n);
    },
    [relay, load](atom::ingest, topology_update& x) {
      auto n = x.edges.size();
      load->release(load->rca_slot(), n);
      relay(std::move(x), n);
    },
  };
}

} // namespace vigil::cluster
