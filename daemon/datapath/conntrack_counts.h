// How full the conntrack tables are: flows and translations per table,
// counted in the kernel (sluice_count_entries) without copying a table
// out. On its own so that the service's headers need not include the
// datapath's.
#pragma once

#include <array>
#include <cstddef>

#include "sluice/abi.h"

namespace sluice::datapath {

struct ConntrackCounts {
  std::size_t flows = 0;
  std::size_t translations = 0;
};

// Both tables, indexed by sluice_ct_table.
using ConntrackTableCounts = std::array<ConntrackCounts, SLUICE_CT_TABLE_COUNT>;

}  // namespace sluice::datapath
