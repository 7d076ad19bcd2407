#include "messages/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace vigil {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::vigil>();
  // Typed handles travel in messages (route updates, locate replies); CAF
  // 0.17 needs them registered by name to serialize them.
  cfg.add_message_type<detector_actor>("vigil.detector_actor");
  cfg.add_message_type<shard_actor>("vigil.shard_actor");
  cfg.add_message_type<correlator_actor>("vigil.correlator_actor");
  cfg.add_message_type<rca_actor>("vigil.rca_actor");
  cfg.add_message_type<partition_actor>("vigil.partition_actor");
  cfg.add_message_type<playbook_actor>("vigil.playbook_actor");
  cfg.add_message_type<notifier_actor>("vigil.notifier_actor");
  cfg.add_message_type<summarizer_actor>("vigil.summarizer_actor");
  cfg.add_message_type<ingest_actor>("vigil.ingest_actor");
  cfg.add_message_type<admin_actor>("vigil.admin_actor");
  cfg.add_error_category(caf::atom("vigil"), render_errc);
}

} // namespace vigil
