// The XDP blocklist as the datapath holds it: the prefixes dropped, and
// the management sources exempt from them. The prefilter runs before
// policy, so a blocklist that holds an admin's address would lock the
// admin out before the anti-lockout rule is ever reached; management
// sources inside a blocked prefix are therefore written as exempt entries
// (the LPM trie's longest match), and blocked prefixes wholly inside the
// management sources are left out.
#pragma once

#include "config/model.h"
#include "policy/compiled_policy.h"

namespace sluice::policy {

// Fills out.prefilter, out.prefilter_exempt and out.prefilter_left_out.
void compile_prefilter(const config::Config& cfg, CompiledPolicy& out);

}  // namespace sluice::policy
