#pragma once

// The one catalogue of Vigil's CAF type IDs and atoms. Append-only: the order
// of CAF_ADD_TYPE_ID lines is part of the wire format between nodes of one
// build, so new entries go at the end of the block.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

namespace vigil {

struct sample;
struct sample_batch;
struct attribute;
struct log_record;
struct log_batch;
struct span_record;
struct span_batch;
struct alert_record;
struct alert_batch;
struct change_event;
struct change_batch;
struct topology_edge;
struct topology_update;
struct topology_edge_stats;
struct topology_snapshot;
struct detector_vote;
struct anomaly_event;
struct anomaly_query;
struct service_info;
struct shard_id;
struct node_status;
struct ingest_receipt;
struct rca_evidence;
struct rca_request;
struct rca_candidate;
struct rca_result;
struct domain_map;
struct timeline_entry;
struct incident_symptom;
struct incident_view;
struct incident_query;
struct incident_command;
struct silence_spec;
struct action_view;
struct incident_note;
struct playbook_info;
struct reload_report;
struct action_job;
struct approval_decision;
struct incident_notice;
struct console_request;
struct console_reply;
struct member_info;
struct repl_op;
struct repl_batch;

} // namespace vigil

// Atoms: at most 10 characters, never the text of a CAF built-in atom (the
// same text is the same type in CAF 0.17). CAF's own atoms are re-exported in
// messages/atoms.hpp instead of being redefined.
CAF_ADD_ATOM(vigil, vigil::atom, ingest, "v_ingest")
CAF_ADD_ATOM(vigil, vigil::atom, snapshot, "v_snapshot")
CAF_ADD_ATOM(vigil, vigil::atom, list, "v_list")
CAF_ADD_ATOM(vigil, vigil::atom, route, "v_route")
CAF_ADD_ATOM(vigil, vigil::atom, anomaly, "v_anomaly")
CAF_ADD_ATOM(vigil, vigil::atom, query, "v_query")
CAF_ADD_ATOM(vigil, vigil::atom, status, "v_status")
CAF_ADD_ATOM(vigil, vigil::atom, restart, "v_restart")
CAF_ADD_ATOM(vigil, vigil::atom, locate, "v_locate")
CAF_ADD_ATOM(vigil, vigil::atom, sweep, "v_sweep")
CAF_ADD_ATOM(vigil, vigil::atom, drain, "v_drain")
CAF_ADD_ATOM(vigil, vigil::atom, configure, "v_config")
CAF_ADD_ATOM(vigil, vigil::atom, rank, "v_rank")
CAF_ADD_ATOM(vigil, vigil::atom, domains, "v_domains")
CAF_ADD_ATOM(vigil, vigil::atom, incident, "v_incident")
CAF_ADD_ATOM(vigil, vigil::atom, silence, "v_silence")
CAF_ADD_ATOM(vigil, vigil::atom, adopt, "v_adopt")
CAF_ADD_ATOM(vigil, vigil::atom, action, "v_action")
CAF_ADD_ATOM(vigil, vigil::atom, reload, "v_reload")
CAF_ADD_ATOM(vigil, vigil::atom, note, "v_note")
CAF_ADD_ATOM(vigil, vigil::atom, done, "v_done")
CAF_ADD_ATOM(vigil, vigil::atom, approval, "v_approval")
CAF_ADD_ATOM(vigil, vigil::atom, notify, "v_notify")
CAF_ADD_ATOM(vigil, vigil::atom, console, "v_console")
CAF_ADD_ATOM(vigil, vigil::atom, summary, "v_summary")
CAF_ADD_ATOM(vigil, vigil::atom, join, "v_join")
CAF_ADD_ATOM(vigil, vigil::atom, beat, "v_beat")
CAF_ADD_ATOM(vigil, vigil::atom, leave, "v_leave")
CAF_ADD_ATOM(vigil, vigil::atom, forward, "v_forward")
CAF_ADD_ATOM(vigil, vigil::atom, relay, "v_relay")
CAF_ADD_ATOM(vigil, vigil::atom, replicate, "v_repl")
CAF_ADD_ATOM(vigil, vigil::atom, members, "v_members")

CAF_BEGIN_TYPE_ID_BLOCK(vigil, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(vigil, (vigil::sample))
  CAF_ADD_TYPE_ID(vigil, (vigil::sample_batch))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::sample_batch>))
  CAF_ADD_TYPE_ID(vigil, (vigil::attribute))
  CAF_ADD_TYPE_ID(vigil, (vigil::log_record))
  CAF_ADD_TYPE_ID(vigil, (vigil::log_batch))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::log_batch>))
  CAF_ADD_TYPE_ID(vigil, (vigil::span_record))
  CAF_ADD_TYPE_ID(vigil, (vigil::span_batch))
  CAF_ADD_TYPE_ID(vigil, (vigil::alert_record))
  CAF_ADD_TYPE_ID(vigil, (vigil::alert_batch))
  CAF_ADD_TYPE_ID(vigil, (vigil::change_event))
  CAF_ADD_TYPE_ID(vigil, (vigil::change_batch))
  CAF_ADD_TYPE_ID(vigil, (vigil::topology_edge))
  CAF_ADD_TYPE_ID(vigil, (vigil::topology_update))
  CAF_ADD_TYPE_ID(vigil, (vigil::detector_vote))
  CAF_ADD_TYPE_ID(vigil, (vigil::anomaly_event))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::anomaly_event>))
  CAF_ADD_TYPE_ID(vigil, (vigil::anomaly_query))
  CAF_ADD_TYPE_ID(vigil, (vigil::service_info))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::service_info>))
  CAF_ADD_TYPE_ID(vigil, (vigil::shard_id))
  CAF_ADD_TYPE_ID(vigil, (vigil::node_status))
  CAF_ADD_TYPE_ID(vigil, (vigil::ingest_receipt))
  CAF_ADD_TYPE_ID(vigil, (vigil::topology_edge_stats))
  CAF_ADD_TYPE_ID(vigil, (vigil::topology_snapshot))
  CAF_ADD_TYPE_ID(vigil, (vigil::rca_evidence))
  CAF_ADD_TYPE_ID(vigil, (vigil::rca_request))
  CAF_ADD_TYPE_ID(vigil, (vigil::rca_candidate))
  CAF_ADD_TYPE_ID(vigil, (vigil::rca_result))
  CAF_ADD_TYPE_ID(vigil, (vigil::domain_map))
  CAF_ADD_TYPE_ID(vigil, (vigil::timeline_entry))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_symptom))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_view))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::incident_view>))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_query))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_command))
  CAF_ADD_TYPE_ID(vigil, (vigil::silence_spec))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::silence_spec>))
  CAF_ADD_TYPE_ID(vigil, (vigil::action_view))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::action_view>))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_note))
  CAF_ADD_TYPE_ID(vigil, (vigil::playbook_info))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::playbook_info>))
  CAF_ADD_TYPE_ID(vigil, (vigil::reload_report))
  CAF_ADD_TYPE_ID(vigil, (vigil::action_job))
  CAF_ADD_TYPE_ID(vigil, (vigil::approval_decision))
  CAF_ADD_TYPE_ID(vigil, (vigil::incident_notice))
  CAF_ADD_TYPE_ID(vigil, (vigil::console_request))
  CAF_ADD_TYPE_ID(vigil, (vigil::console_reply))
  CAF_ADD_TYPE_ID(vigil, (vigil::member_info))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::member_info>))
  CAF_ADD_TYPE_ID(vigil, (vigil::repl_op))
  CAF_ADD_TYPE_ID(vigil, (std::vector<vigil::repl_op>))
  CAF_ADD_TYPE_ID(vigil, (vigil::repl_batch))

CAF_END_TYPE_ID_BLOCK(vigil)
