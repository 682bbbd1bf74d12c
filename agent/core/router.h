// Decides, for each event, which sinks it goes to (DESIGN §7 routes). An event may match several
// routes; each sink receives it at most once. Pure and thread-safe after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"
#include "agent/config/config.h"

namespace siem {

// `*` matches any run of characters (dots included), `?` exactly one.
bool globMatch(std::string_view pattern, std::string_view text);

class Router {
 public:
  // Ids in routes were validated by the config loader; unknown ones are ignored here.
  Router(const std::vector<RouteConfig>& routes, const std::vector<std::string>& source_ids,
         const std::vector<std::string>& sink_ids);

  // Replaces `out` with the ascending, de-duplicated indices of the sinks `event` (from the source
  // with index `source_index`) goes to.
  void match(std::uint32_t source_index, const Event& event, std::vector<std::uint32_t>& out) const;

 private:
  struct CompiledRoute {
    std::string name;
    std::vector<bool> from;  // by source index
    RouteCondition when;
    std::vector<std::uint32_t> sinks;
  };
  static bool matches(const RouteCondition& when, const Event& event);

  std::vector<CompiledRoute> routes_;
  std::size_t sink_count_;
};

}  // namespace siem
