// Taking over the datapath of a sluiced from before TCP flows got a table
// of their own: its one table (pinned as "conntrack", the name the TCP
// table kept) holds flows of every protocol. The others are moved into
// their table, so that UDP and ICMP flows (and their masquerade ports)
// live on through the upgrade.
#pragma once

#include <cstddef>

#include "datapath/conntrack_tables.h"

namespace sluice::datapath {

// Moves every entry of tables.tcp that is no TCP one into tables.other.
// Returns how many were moved.
std::size_t move_non_tcp_entries(const ConntrackTables& tables);

}  // namespace sluice::datapath
