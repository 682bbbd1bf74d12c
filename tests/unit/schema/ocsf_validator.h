// Checks a rendered event against the OCSF 1.8.0 rules in ocsf_rules.h: the checks a schema
// validator makes (class lookup, required attributes, no attribute outside the class or object
// definition except under `unmapped`, profile gating, primitive types with the ip_t/email_t
// patterns, enum membership and the captions of enum siblings, at_least_one/just_one constraints,
// category_uid/type_uid arithmetic, observables that point at real values).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace siem {

// Returns one message per violation; empty when the event conforms.
std::vector<std::string> validateOcsfEvent(std::string_view json);

}  // namespace siem
