// sluicectl commands that do more than one request and one answer.
#pragma once

#include "cli/bindings.h"

namespace sluice::cli {

// validate FILE [--list-dir DIR]: offline, as sluiced would load it.
int run_validate(const Invocation& inv);
// flows [FILTERS] [--limit N] [--follow]: a page, or a page and then
// every new flow until interrupted.
int run_flows(const Invocation& inv);
// user add NAME: the password from the terminal or stdin first.
int run_user_add(const Invocation& inv);

}  // namespace sluice::cli
