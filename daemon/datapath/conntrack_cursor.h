// Where a walk of the conntrack table in chunks stands
// (Datapath::read_conntrack_chunk): one table after the other; hash maps
// resume by bucket number.
#pragma once

#include <cstdint>

namespace sluice::datapath {

struct ConntrackCursor {
  std::uint32_t table = 0;  // enum sluice_ct_table: the table being walked
  std::uint32_t bucket = 0;
  bool started = false;
};

}  // namespace sluice::datapath
