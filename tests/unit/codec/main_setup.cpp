// libprotobuf writes to stderr when a message fails to parse; the codecs
// check bytes before libprotobuf sees them, but the tests also drive
// libprotobuf directly with bad input. Keep the test output readable.

#include <google/protobuf/stubs/logging.h>

namespace {

const bool quiet_protobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

} // namespace
