#include "agent/core/checkpoint_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "agent/core/unique_fd.h"

namespace siem {
namespace {

constexpr std::string_view kMagic = "siem-agent-checkpoint";
constexpr std::string_view kVersion = "v1";
constexpr std::string_view kTempSuffix = ".tmp";

std::string errnoText(int err) { return std::system_category().message(err); }

std::uint32_t crc32Of(std::string_view bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large inputs in chunks.
  while (!bytes.empty()) {
    auto n = static_cast<uInt>(std::min<std::size_t>(bytes.size(), 1u << 30));
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), n);
    bytes.remove_prefix(n);
  }
  return static_cast<std::uint32_t>(crc);
}

bool validName(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<void> writeAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("cannot write {}: {}", path.string(), errnoText(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> fsyncDir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return fail(fmt::format("cannot open directory {}: {}", dir.string(), errnoText(errno)));
  }
  if (::fsync(fd.get()) != 0) {
    return fail(fmt::format("cannot fsync directory {}: {}", dir.string(), errnoText(errno)));
  }
  return {};
}

}  // namespace

std::string frameCheckpoint(std::string_view payload) {
  std::string out = fmt::format("{} {} crc32={:08x} length={}\n", kMagic, kVersion,
                                crc32Of(payload), payload.size());
  out.append(payload);
  return out;
}

Result<std::string> unframeCheckpoint(std::string_view file_bytes) {
  auto nl = file_bytes.find('\n');
  if (nl == std::string_view::npos || nl > 200) return fail("missing header line");
  std::string_view header = file_bytes.substr(0, nl);
  std::string_view payload = file_bytes.substr(nl + 1);
  if (header.substr(0, kMagic.size()) != kMagic || header.size() <= kMagic.size() ||
      header[kMagic.size()] != ' ') {
    return fail("not a siem-agent checkpoint (bad header)");
  }
  header.remove_prefix(kMagic.size() + 1);
  auto sp = header.find(' ');
  std::string_view version = header.substr(0, sp);
  if (version != kVersion) {
    return fail(fmt::format("unsupported checkpoint format version \"{}\" (this agent reads {})",
                            version, kVersion));
  }
  if (sp == std::string_view::npos) return fail("header has no checksum");
  header.remove_prefix(sp + 1);
  constexpr std::string_view kCrc = "crc32=";
  constexpr std::string_view kLength = " length=";
  if (header.substr(0, kCrc.size()) != kCrc || header.size() < kCrc.size() + 8) {
    return fail("header has no checksum");
  }
  std::uint32_t crc = 0;
  const char* crc_begin = header.data() + kCrc.size();
  auto [crc_end, crc_ec] = std::from_chars(crc_begin, crc_begin + 8, crc, 16);
  if (crc_ec != std::errc() || crc_end != crc_begin + 8) return fail("header checksum unreadable");
  header.remove_prefix(kCrc.size() + 8);
  if (header.substr(0, kLength.size()) != kLength) return fail("header has no length");
  header.remove_prefix(kLength.size());
  std::size_t length = 0;
  auto [len_end, len_ec] = std::from_chars(header.data(), header.data() + header.size(), length);
  if (len_ec != std::errc() || len_end != header.data() + header.size()) {
    return fail("header length unreadable");
  }
  if (payload.size() != length) {
    return fail(fmt::format("payload is {} bytes, header says {} (truncated or appended file)",
                            payload.size(), length));
  }
  if (crc32Of(payload) != crc)
    return fail("checksum mismatch (the content was altered or damaged)");
  return std::string(payload);
}

CheckpointStore::CheckpointStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::filesystem::path CheckpointStore::tempPathOf(std::string_view name) const {
  return dir_ / (std::string(name) + std::string(kTempSuffix));
}

Result<void> CheckpointStore::write(std::string_view name, std::string_view payload) const {
  if (!validName(name)) return fail(fmt::format("invalid checkpoint name \"{}\"", name));
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return fail(fmt::format("cannot create directory {}: {}", dir_.string(), ec.message()));

  const auto final_path = pathOf(name);
  const auto temp_path = tempPathOf(name);
  const std::string framed = frameCheckpoint(payload);
  {
    UniqueFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (!fd.valid()) {
      return fail(fmt::format("cannot create {}: {}", temp_path.string(), errnoText(errno)));
    }
    auto written = writeAll(fd.get(), framed, temp_path);
    if (!written) {
      ::unlink(temp_path.c_str());
      return written;
    }
    if (::fsync(fd.get()) != 0 || fd.close() != 0) {
      int err = errno;
      ::unlink(temp_path.c_str());
      return fail(fmt::format("cannot flush {}: {}", temp_path.string(), errnoText(err)));
    }
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path.c_str());
    return fail(fmt::format("cannot rename {} to {}: {}", temp_path.string(), final_path.string(),
                            errnoText(err)));
  }
  return fsyncDir(dir_);
}

CheckpointRead CheckpointStore::read(std::string_view name, LeftoverPolicy leftovers) const {
  CheckpointRead out;
  const auto final_path = pathOf(name);
  if (!validName(name)) {
    out.status = CheckpointStatus::kError;
    out.error = fmt::format("invalid checkpoint name \"{}\"", name);
    return out;
  }

  const auto temp_path = tempPathOf(name);
  std::error_code ec;
  if (std::filesystem::exists(temp_path, ec)) {
    if (leftovers == LeftoverPolicy::kRemove) {
      std::filesystem::remove(temp_path, ec);
      out.leftover_warning = fmt::format(
          "removed {} left by an interrupted checkpoint write; {} was not changed by it{}",
          temp_path.string(), final_path.string(),
          ec ? fmt::format(" (removal failed: {})", ec.message()) : std::string());
    } else {
      out.leftover_warning = fmt::format(
          "{} exists: a checkpoint write was interrupted or is in progress; {} is the committed "
          "checkpoint",
          temp_path.string(), final_path.string());
    }
  }

  UniqueFd fd(::open(final_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      out.status = CheckpointStatus::kMissing;
      return out;
    }
    out.status = CheckpointStatus::kError;
    out.error = fmt::format("cannot open checkpoint {}: {}", final_path.string(), errnoText(errno));
    return out;
  }
  std::string bytes;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.status = CheckpointStatus::kError;
      out.error =
          fmt::format("cannot read checkpoint {}: {}", final_path.string(), errnoText(errno));
      return out;
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  auto payload = unframeCheckpoint(bytes);
  if (!payload) {
    out.status = CheckpointStatus::kCorrupt;
    out.error = fmt::format(
        "checkpoint {} is corrupt: {}. It was left as is: inspect it, or run `siem-agent "
        "checkpoint reset` for this source to start again from a chosen time",
        final_path.string(), payload.error().message);
    return out;
  }
  out.status = CheckpointStatus::kOk;
  out.payload = std::move(*payload);
  return out;
}

}  // namespace siem
