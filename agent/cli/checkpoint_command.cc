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
    const std::string& id = source.config->id;
    const std::string path = openAiCheckpointPath(config.data_dir, id).string();
    auto state = readCheckpoint(config.data_dir, id);
    if (!state) {
      note(fmt::format("checkpoint show: {}", state.error().message));
      return kExitFailure;
    }
    std::string text;
    if (format_ == "json") {
      text = fmt::format(R"({{"source":{},"path":{},"exists":{})", jsonString(id), jsonString(path),
                         state->has_value() ? "true" : "false");
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

    auto removed = removeFile(path);
    if (!removed) {
      note(fmt::format("checkpoint reset: {}", removed.error().message));
      return kExitFailure;
    }
    // A temporary file left by an interrupted write belongs to the removed checkpoint.
    const CheckpointStore store(path.parent_path());
    (void)removeFile(store.tempPathOf(path.filename().string()));
    if (!*removed) {
      printOut(
          fmt::format("source {} has no checkpoint ({}); nothing to reset\n", id, path.string()));
      return kExitOk;
    }
    syncDirectory(path.parent_path());
    printOut(fmt::format(
        "source {}: removed checkpoint {}\n  watermark was:   {}\n  origin was:      {}\n"
        "  remembered ids:  {}\nThe next run starts at the source's start_at ({}).\n",
        id, path.string(), was(&CursorState::watermark), was(&CursorState::origin),
        before ? before->seen.size() : 0, source.options->start_at));
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
