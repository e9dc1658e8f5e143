// Taking over the datapath of a sluiced from before translations moved
// into the conntrack table: that version pinned a NAT table of its own
// ("nat"). Its live translations are carried into the conntrack table, so
// that flows masqueraded or port-forwarded before the upgrade keep
// working, and the old table is unpinned.
#pragma once

#include <cstddef>
#include <string>

#include "datapath/conntrack_tables.h"

namespace sluice::datapath {

// Carries the translations of the NAT table pinned at nat_pin (if there
// is one) whose flows the conntrack tables still hold, and removes the
// pin. Returns how many were carried.
std::size_t carry_legacy_nat_table(const std::string& nat_pin, const ConntrackTables& tables);

}  // namespace sluice::datapath
