// `stampede rehearse` (API.md, "Rehearsal"): plays a sale against a running server, audits the
// store afterwards, prints a summary and writes the JSON and the HTML report; or compares two
// runs' JSON. Returns the exit status: 0 the audit passed, 1 it found a violation (or could
// not read the store), 2 the run could not start. Called from `stampede`'s main thread.
#pragma once

#include <string>
#include <vector>

namespace stampede::load {

int rehearse_main(const std::vector<std::string>& args);

}  // namespace stampede::load
