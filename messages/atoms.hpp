#pragma once

// Every atom Vigil sends: its own (declared in type_ids.hpp) plus CAF's
// built-ins re-exported, never redefined (same text = same atom in CAF 0.17).

#include <caf/atom.hpp>

#include "messages/type_ids.hpp"

namespace vigil::atom {

using get = caf::get_atom;
using put = caf::put_atom;
using ok = caf::ok_atom;
using tick = caf::tick_atom;
using flush = caf::flush_atom;

constexpr get get_v{};
constexpr put put_v{};
constexpr ok ok_v{};
constexpr tick tick_v{};
constexpr flush flush_v{};

} // namespace vigil::atom
