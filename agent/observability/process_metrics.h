// process_* metrics of the running agent, read from /proc/self at scrape time (Linux only). The
// names follow the Prometheus client-library conventions so stock dashboards work.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace siem {

// The fields of /proc/<pid>/stat the exposition needs, in the kernel's units.
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  // since boot
  std::uint64_t vsize_bytes = 0;
  std::uint64_t rss_pages = 0;
};

// Parses the content of /proc/<pid>/stat. The command name may hold spaces and parentheses, so
// fields are counted from the last ')'. nullopt if the content is malformed.
std::optional<ProcStat> parseProcStat(std::string_view content);

// The `btime` line (boot time, unix seconds) of /proc/stat; nullopt if absent.
std::optional<std::uint64_t> parseBootTime(std::string_view proc_stat);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds for the calling process. A value
// that cannot be read is left out rather than reported wrong. Thread-safe.
std::vector<prometheus::MetricFamily> collectProcessMetrics();

}  // namespace siem
