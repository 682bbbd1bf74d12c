#pragma once

#include <string_view>

namespace siem {

// Writes `bytes` to standard output as one unit, serialised with every other writer in the
// process that uses this function, and flushes. Returns false on an I/O error.
bool writeStdout(std::string_view bytes);

}  // namespace siem
