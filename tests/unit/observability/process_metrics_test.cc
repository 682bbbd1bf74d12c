#include "agent/observability/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent/observability/metrics.h"
#include "tests/unit/observability/exposition.h"

namespace siem {
namespace {

using testing::familyType;
using testing::sampleValue;

// Fields 1..52 of proc(5), with distinct values where the parser must pick them.
std::string statLine(const std::string& command) {
  std::string line = "4242 (" + command + ") S";
  for (int field = 4; field <= 52; ++field) {
    std::string value = std::to_string(field * 10);
    if (field == 14) value = "250";        // utime
    if (field == 15) value = "150";        // stime
    if (field == 22) value = "987654";     // starttime
    if (field == 23) value = "123456789";  // vsize
    if (field == 24) value = "2048";       // rss
    line += " " + value;
  }
  return line + "\n";
}

TEST(ProcessMetricsTest, ParsesProcStatEvenWithAnAwkwardCommandName) {
  for (const std::string command : {"siem-agent", "a b", "x) S 1 2 (y", ")"}) {
    const auto stat = parseProcStat(statLine(command));
    ASSERT_TRUE(stat.has_value()) << command;
    EXPECT_EQ(stat->utime_ticks, 250u);
    EXPECT_EQ(stat->stime_ticks, 150u);
    EXPECT_EQ(stat->start_ticks, 987654u);
    EXPECT_EQ(stat->vsize_bytes, 123456789u);
    EXPECT_EQ(stat->rss_pages, 2048u);
  }
}

TEST(ProcessMetricsTest, RejectsMalformedProcStat) {
  EXPECT_FALSE(parseProcStat("").has_value());
  EXPECT_FALSE(parseProcStat("4242 siem-agent S 1 2 3").has_value());        // no ')'
  EXPECT_FALSE(parseProcStat("4242 (siem-agent) S 1 2 3 4 5").has_value());  // truncated
  std::string line = statLine("siem-agent");
  line.replace(line.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(parseProcStat(line).has_value());
}

TEST(ProcessMetricsTest, ReadsBootTime) {
  EXPECT_EQ(parseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
  EXPECT_EQ(parseBootTime("cpu  1 2 3\nbtime 1700000001"), 1700000001u);
  EXPECT_FALSE(parseBootTime("cpu  1 2 3\n").has_value());
  EXPECT_FALSE(parseBootTime("btime soon\n").has_value());
}

double value(const std::string& text, const std::string& name) {
  const auto v = sampleValue(text, name);
  EXPECT_TRUE(v.has_value()) << name << " missing";
  return v.value_or(-1);
}

TEST(ProcessMetricsTest, ExportsPlausibleValuesOfThisProcess) {
  Metrics metrics("0");
  const std::string text = metrics.serialize();
  EXPECT_EQ(familyType(text, "process_cpu_seconds_total"), "counter");
  for (const char* gauge : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                            "process_start_time_seconds", "process_open_fds", "process_max_fds"}) {
    EXPECT_EQ(familyType(text, gauge), "gauge") << gauge;
  }
  const double rss = value(text, "process_resident_memory_bytes");
  EXPECT_GT(rss, 0);
  EXPECT_GE(value(text, "process_virtual_memory_bytes"), rss);
  EXPECT_GE(value(text, "process_cpu_seconds_total"), 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = value(text, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600) << "the test process started within the last day";
  const double open_fds = value(text, "process_open_fds");
  EXPECT_GE(open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(value(text, "process_max_fds"), open_fds);
}

TEST(ProcessMetricsTest, OpenFdsFollowsDescriptorsOpenedAndClosed) {
  Metrics metrics("0");
  const double before = value(metrics.serialize(), "process_open_fds");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const double during = value(metrics.serialize(), "process_open_fds");
  close(fds[0]);
  close(fds[1]);
  const double after = value(metrics.serialize(), "process_open_fds");
  EXPECT_EQ(during, before + 2);
  EXPECT_EQ(after, before);
}

TEST(ProcessMetricsTest, ResidentMemoryGrowsWhenMemoryIsTouched) {
  Metrics metrics("0");
  const double before = value(metrics.serialize(), "process_resident_memory_bytes");
  constexpr std::size_t kBytes = 64 << 20;
  auto block = std::make_unique_for_overwrite<char[]>(kBytes);
  // Volatile stores: the compiler may not drop them, so every page is really touched.
  volatile char* pages = block.get();
  for (std::size_t i = 0; i < kBytes; i += 4096) pages[i] = 1;
  const double during = value(metrics.serialize(), "process_resident_memory_bytes");
  EXPECT_GE(during - before, static_cast<double>(kBytes) / 2);
}

}  // namespace
}  // namespace siem
