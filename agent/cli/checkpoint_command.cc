#include "agent/cli/checkpoint_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "agent/core/checkpoint_store.h"
#include "agent/core/clock.h"
#include "agent/core/data_dir_lock.h"
#include "agent/core/json_escape.h"
#include "agent/core/time_spec.h"
#include "agent/sources/openai/org_logs_source.h"
#include "agent/sources/openai/source.h"

namespace siem::cli {
namespace {

std::string timeAndUnix(std::int64_t t) { return fmt::format("{} ({})", formatRfc3339(t), t); }

void printOut(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Removes `path` if present; true when it existed.
Result<bool> removeFile(const std::filesystem::path& path) {
  std::error_code ec;
  const bool removed = std::filesystem::remove(path, ec);
  if (ec) return fail(fmt::format("cannot remove {}: {}", path.string(), ec.message()));
  return removed;
}

void syncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Removes a checkpoint file and what an interrupted write may have left beside it; true when the
// checkpoint existed.
Result<bool> removeCheckpoint(const std::filesystem::path& path) {
  auto removed = removeFile(path);
  if (!removed) return removed;
  const CheckpointStore store(path.parent_path());
  (void)removeFile(store.tempPathOf(path.filename().string()));
  if (*removed) syncDirectory(path.parent_path());
  return removed;
}

bool isOrganizationLogs(const ChosenSource& source) {
  return source.options->api == OpenAiApiVariant::kOrganizationLogs;
}

// The organization_logs cursor's fields for people: an absent last_id is the start of the log,
// newest_created_at 0 means nothing was delivered yet.
std::string lastIdText(const std::optional<std::string>& last_id) {
  return last_id ? *last_id : std::string("(none: the beginning of the log)");
}
std::string newestText(std::int64_t newest_created_at) {
  return newest_created_at > 0 ? timeAndUnix(newest_created_at)
                               : std::string("(none delivered yet)");
}

class CheckpointCommand final : public CliCommand {
 public:
  explicit CheckpointCommand(CLI::App& app) {
    checkpoint_ = app.add_subcommand("checkpoint", "Inspect or move a source's cursor");
    checkpoint_->require_subcommand(1);

    show_ = checkpoint_->add_subcommand("show", "Print a source's checkpoint");
    addCommon(show_);
    show_->add_option("--format", format_, "text | json")->check(CLI::IsMember({"text", "json"}));

    reset_ = checkpoint_->add_subcommand(
        "reset", "Move a source's cursor to --to T, or remove it (the agent must be stopped)");
    addCommon(reset_);
    reset_->add_option("--to", to_,
                       "New watermark: RFC 3339, 90m / 24h / 30d back, or unix seconds");
  }

  bool chosen() const override { return checkpoint_->parsed(); }

  int run() override {
    auto config = loadConfigOrReport(config_path_);
    if (!config) return config.error();
    auto source = chooseOpenAiSource(*config, source_id_);
    if (!source) return source.error();
    setupCommandLogging(*config);
    if (show_->parsed()) return runShow(*config, *source);
    return runReset(*config, *source);
  }

 private:
  void addCommon(CLI::App* sub) {
    sub->add_option("-c,--config", config_path_, "Configuration file (YAML)")->required();
    sub->add_option("--source", source_id_,
                    "Source id (default: the only openai_audit_logs source)");
  }

  int runShow(const Config& config, const ChosenSource& source) {
    if (isOrganizationLogs(source)) return runShowOrganizationLogs(config, source);
    const std::string& id = source.config->id;
    const std::string path = openAiCheckpointPath(config.data_dir, id).string();
    auto state = readCheckpoint(config.data_dir, id);
    if (!state) {
      note(fmt::format("checkpoint show: {}", state.error().message));
      return kExitFailure;
    }
    std::string text;
    if (format_ == "json") {
      text = fmt::format(R"({{"source":{},"api":"audit_logs","path":{},"exists":{})",
                         jsonString(id), jsonString(path), state->has_value() ? "true" : "false");
      if (*state) {
        const CursorState& s = **state;
        text += fmt::format(
            R"(,"watermark":{},"watermark_time":"{}","origin":{},"origin_time":"{}","remembered_ids":{})",
            s.watermark, formatRfc3339(s.watermark), s.origin, formatRfc3339(s.origin),
            s.seen.size());
      } else {
        text += fmt::format(R"(,"start_at":{})", jsonString(source.options->start_at));
      }
      text += "}\n";
    } else if (*state) {
      const CursorState& s = **state;
      text = fmt::format(
          "source:          {}\ncheckpoint:      {}\nwatermark:       {}\norigin:          {}\n"
          "remembered ids:  {}\n",
          id, path, timeAndUnix(s.watermark), timeAndUnix(s.origin), s.seen.size());
    } else {
      text = fmt::format(
          "source:          {}\ncheckpoint:      {} (none: the source has not run yet; its next "
          "run starts at start_at {})\n",
          id, path, source.options->start_at);
    }
    printOut(text);
    return kExitOk;
  }

  int runShowOrganizationLogs(const Config& config, const ChosenSource& source) {
    const std::string& id = source.config->id;
    const std::string path = organizationLogsCheckpointPath(config.data_dir, id).string();
    auto state = readOrganizationLogsCheckpoint(config.data_dir, id);
    if (!state) {
      note(fmt::format("checkpoint show: {}", state.error().message));
      return kExitFailure;
    }
    std::string text;
    if (format_ == "json") {
      text = fmt::format(R"({{"source":{},"api":"organization_logs","path":{},"exists":{})",
                         jsonString(id), jsonString(path), state->has_value() ? "true" : "false");
      if (*state) {
        const IdCursorState& s = **state;
        text += fmt::format(
            R"(,"last_id":{},"not_before":{},"not_before_time":"{}","newest_created_at":{},"newest_created_at_time":{})",
            s.last_id ? jsonString(*s.last_id) : std::string("null"), s.not_before,
            formatRfc3339(s.not_before), s.newest_created_at,
            s.newest_created_at > 0 ? fmt::format("\"{}\"", formatRfc3339(s.newest_created_at))
                                    : std::string("null"));
      } else {
        text += fmt::format(R"(,"start_at":{})", jsonString(source.options->start_at));
      }
      text += "}\n";
    } else if (*state) {
      const IdCursorState& s = **state;
      text = fmt::format(
          "source:             {}\ncheckpoint:         {}\napi:                organization_logs\n"
          "last id:            {}\nnot before:         {}\nnewest created_at:  {}\n",
          id, path, lastIdText(s.last_id), timeAndUnix(s.not_before),
          newestText(s.newest_created_at));
    } else {
      text = fmt::format(
          "source:             {}\ncheckpoint:         {} (none: the source has not run yet; its "
          "next run reads the log from the beginning and skips logs created before start_at {})\n",
          id, path, source.options->start_at);
    }
    printOut(text);
    return kExitOk;
  }

  int runReset(const Config& config, const ChosenSource& source) {
    const std::string& id = source.config->id;
    std::optional<std::int64_t> to;
    if (!to_.empty()) {
      const std::int64_t now = unixSeconds(std::chrono::system_clock::now());
      auto t = parseTimeSpec(to_, now);
      if (!t) {
        note(fmt::format("--to: {}", t.error().message));
        return kExitUsage;
      }
      if (*t > now) {
        note(fmt::format("--to {} is in the future", formatRfc3339(*t)));
        return kExitUsage;
      }
      to = *t;
    }

    auto lock = DataDirLock::acquire(config.data_dir);
    if (!lock) {
      note(
          fmt::format("checkpoint reset refused: {}. An agent running with this data_dir owns the "
                      "checkpoint: stop it, then run the reset again",
                      lock.error().message));
      return kExitFailure;
    }
    if (isOrganizationLogs(source)) return resetOrganizationLogs(config, source, to);

    const std::filesystem::path path = openAiCheckpointPath(config.data_dir, id);
    auto current = readCheckpoint(config.data_dir, id);
    if (!current) {
      note(fmt::format("the current checkpoint is unreadable and will be replaced: {}",
                       current.error().message));
    }
    const std::optional<CursorState> before = current ? *current : std::nullopt;
    auto was = [&before](auto field) {
      return before ? timeAndUnix((*before).*field) : std::string("(none)");
    };

    if (to) {
      CursorState next;
      next.watermark = *to;
      next.origin = *to;
      if (auto written = writeCheckpoint(config.data_dir, id, next); !written) {
        note(fmt::format("checkpoint reset: {}", written.error().message));
        return kExitFailure;
      }
      printOut(fmt::format(
          "source {}: checkpoint {} reset\n  watermark:       {} -> {}\n  origin:          {} "
          "-> {}\n  remembered ids:  {} -> 0\nThe next run reads audit logs from {} on.\n",
          id, path.string(), was(&CursorState::watermark), timeAndUnix(*to),
          was(&CursorState::origin), timeAndUnix(*to), before ? before->seen.size() : 0,
          formatRfc3339(*to)));
      return kExitOk;
    }

    return removeAndReport(
        id, path,
        fmt::format(
            "source {}: removed checkpoint {}\n  watermark was:   {}\n  origin was:      {}\n"
            "  remembered ids:  {}\nThe next run starts at the source's start_at ({}).\n",
            id, path.string(), was(&CursorState::watermark), was(&CursorState::origin),
            before ? before->seen.size() : 0, source.options->start_at));
  }

  // With the data_dir lock held. The variant's cursor is a position in ingestion order, so a time
  // cannot be turned into a position: --to T reads the log again from the beginning and skips
  // logs created before T (IdCursorState{last_id = none, not_before = T}).
  int resetOrganizationLogs(const Config& config, const ChosenSource& source,
                            std::optional<std::int64_t> to) {
    const std::string& id = source.config->id;
    const std::filesystem::path path = organizationLogsCheckpointPath(config.data_dir, id);
    auto current = readOrganizationLogsCheckpoint(config.data_dir, id);
    if (!current) {
      note(fmt::format("the current checkpoint is unreadable and will be replaced: {}",
                       current.error().message));
    }
    const std::optional<IdCursorState> before = current ? *current : std::nullopt;
    const std::string was_last = before ? lastIdText(before->last_id) : "(none)";
    const std::string was_not_before = before ? timeAndUnix(before->not_before) : "(none)";
    const std::string was_newest = before ? newestText(before->newest_created_at) : "(none)";

    if (to) {
      IdCursorState next;
      next.not_before = *to;
      if (auto written = writeOrganizationLogsCheckpoint(config.data_dir, id, next); !written) {
        note(fmt::format("checkpoint reset: {}", written.error().message));
        return kExitFailure;
      }
      printOut(fmt::format(
          "source {}: checkpoint {} reset\n  last id:            {} -> {}\n"
          "  not before:         {} -> {}\n  newest created_at:  {} -> {}\n"
          "The next run reads the organization log again from the beginning and delivers the logs "
          "created at or after {}.\n",
          id, path.string(), was_last, lastIdText(std::nullopt), was_not_before, timeAndUnix(*to),
          was_newest, newestText(0), formatRfc3339(*to)));
      return kExitOk;
    }

    return removeAndReport(
        id, path,
        fmt::format(
            "source {}: removed checkpoint {}\n  last id was:        {}\n  not before was:     {}\n"
            "  newest created_at:  {}\nThe next run reads the organization log from the beginning "
            "and "
            "skips logs created before the source's start_at ({}).\n",
            id, path.string(), was_last, was_not_before, was_newest, source.options->start_at));
  }

  // `reset` without --to, once the report of what is removed is written: removes the checkpoint,
  // or says there was none.
  int removeAndReport(const std::string& id, const std::filesystem::path& path,
                      const std::string& removed_report) {
    auto removed = removeCheckpoint(path);
    if (!removed) {
      note(fmt::format("checkpoint reset: {}", removed.error().message));
      return kExitFailure;
    }
    if (!*removed) {
      printOut(
          fmt::format("source {} has no checkpoint ({}); nothing to reset\n", id, path.string()));
      return kExitOk;
    }
    printOut(removed_report);
    return kExitOk;
  }

  CLI::App* checkpoint_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* reset_ = nullptr;

  std::string config_path_;
  std::string source_id_;
  std::string format_ = "text";
  std::string to_;
};

}  // namespace

std::unique_ptr<CliCommand> addCheckpointCommand(CLI::App& app) {
  return std::make_unique<CheckpointCommand>(app);
}

}  // namespace siem::cli
