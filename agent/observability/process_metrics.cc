#include "agent/observability/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace siem {
namespace {

std::optional<std::string> readFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return content;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

prometheus::MetricFamily gaugeFamily(const char* name, const char* help, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(metric);
  return family;
}

std::optional<double> countOpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  double count = 0;
  // The iterator's own descriptor is counted too, as other client libraries do.
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  return count;
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view content) {
  const auto close = content.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = content.substr(close + 1);
  // Field numbers as in proc(5); the field after ')' (state) is number 3.
  constexpr int kUtime = 14, kStime = 15, kStartTime = 22, kVsize = 23, kRss = 24;
  ProcStat stat;
  int field = 2;
  while (field < kRss) {
    const auto begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(begin);
    const auto end = rest.find_first_of(" \n");
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(token.size());
    ++field;
    std::uint64_t* target = nullptr;
    switch (field) {
      case kUtime:
        target = &stat.utime_ticks;
        break;
      case kStime:
        target = &stat.stime_ticks;
        break;
      case kStartTime:
        target = &stat.start_ticks;
        break;
      case kVsize:
        target = &stat.vsize_bytes;
        break;
      case kRss:
        target = &stat.rss_pages;
        break;
      default:
        continue;
    }
    const auto value = parseUnsigned(token);
    if (!value) return std::nullopt;
    *target = *value;
  }
  return stat;
}

std::optional<std::uint64_t> parseBootTime(std::string_view proc_stat) {
  constexpr std::string_view kKey = "btime ";
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    auto end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    const std::string_view line = proc_stat.substr(pos, end - pos);
    if (line.substr(0, kKey.size()) == kKey) return parseUnsigned(line.substr(kKey.size()));
    pos = end + 1;
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> collectProcessMetrics() {
  std::vector<prometheus::MetricFamily> families;
  const auto ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
  const auto stat_content = readFile("/proc/self/stat");
  const auto stat = stat_content ? parseProcStat(*stat_content) : std::nullopt;
  if (stat && ticks_per_second > 0 && page_size > 0) {
    prometheus::MetricFamily cpu;
    cpu.name = "process_cpu_seconds_total";
    cpu.help = "Total user and system CPU time spent in seconds.";
    cpu.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric metric;
    metric.counter.value =
        static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second;
    cpu.metric.push_back(metric);
    families.push_back(std::move(cpu));
    families.push_back(gaugeFamily("process_resident_memory_bytes",
                                   "Resident memory size in bytes.",
                                   static_cast<double>(stat->rss_pages) * page_size));
    families.push_back(gaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                   static_cast<double>(stat->vsize_bytes)));
    const auto proc_stat = readFile("/proc/stat");
    const auto boot_time = proc_stat ? parseBootTime(*proc_stat) : std::nullopt;
    if (boot_time) {
      families.push_back(gaugeFamily(
          "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          static_cast<double>(*boot_time) +
              static_cast<double>(stat->start_ticks) / ticks_per_second));
    }
  }
  if (const auto open_fds = countOpenFds()) {
    families.push_back(
        gaugeFamily("process_open_fds", "Number of open file descriptors.", *open_fds));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    families.push_back(gaugeFamily("process_max_fds", "Maximum number of open file descriptors.",
                                   static_cast<double>(limit.rlim_cur)));
  }
  return families;
}

}  // namespace siem
