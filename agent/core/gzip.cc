#include "agent/core/gzip.h"

#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <limits>

namespace siem {
namespace {

// ISA-L and zlib count bytes in 32 bits; larger buffers are handed over in pieces of this size.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;
// The least working room the decoder asks for at a time.
constexpr std::size_t kMinRoom = 16u << 10;
// Deflate cannot expand more than about 1032:1; a trailer claiming more is not believed.
constexpr std::size_t kMaxDeflateRatio = 1032;

std::uint32_t pieceOf(std::size_t n) { return static_cast<std::uint32_t>(std::min(n, kMaxPiece)); }

// ISA-L's compression state (about 80 KiB) and level buffer (about 280 KiB at level 1), kept per
// thread: allocating and clearing them for every request cost a fifth of the compression time.
struct IsalDeflater {
  std::unique_ptr<isal_zstream> stream = std::make_unique<isal_zstream>();  // zeroed
  std::unique_ptr<std::uint8_t[]> level_buf;
  std::size_t level_buf_size = 0;
  bool used = false;
};

// Levels 0 and 1: ISA-L's fast levels, its level buffer sized as ISA-L recommends for each.
Result<std::string> isalCompress(std::string_view data, int level) {
  thread_local IsalDeflater deflater;
  isal_zstream* stream = deflater.stream.get();
  if (deflater.used) {
    isal_deflate_reset(stream);
  } else {
    isal_deflate_init(stream);
    deflater.used = true;
  }
  stream->gzip_flag = IGZIP_GZIP;
  stream->level = static_cast<std::uint32_t>(level);
  stream->flush = NO_FLUSH;
  stream->next_in = nullptr;  // a call that failed may have left input behind
  stream->avail_in = 0;
  const std::size_t level_size = level == 1 ? ISAL_DEF_LVL1_DEFAULT : ISAL_DEF_LVL0_DEFAULT;
  if (deflater.level_buf_size < level_size) {
    deflater.level_buf = std::make_unique_for_overwrite<std::uint8_t[]>(level_size);
    deflater.level_buf_size = level_size;
  }
  stream->level_buf = level_size > 0 ? deflater.level_buf.get() : nullptr;
  stream->level_buf_size = static_cast<std::uint32_t>(level_size);

  // JSON shrinks about tenfold at these levels; less compressible input grows the buffer.
  std::string out(data.size() / 8 + 4096, '\0');
  std::size_t produced = 0;
  auto* in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(data.data()));
  std::size_t left = data.size();
  for (;;) {
    if (stream->avail_in == 0 && left > 0) {
      stream->next_in = in;
      stream->avail_in = pieceOf(left);
      in += stream->avail_in;
      left -= stream->avail_in;
    }
    stream->end_of_stream = left == 0 ? 1 : 0;
    if (out.size() == produced) out.resize(out.size() * 2);
    stream->next_out = reinterpret_cast<std::uint8_t*>(out.data()) + produced;
    stream->avail_out = pieceOf(out.size() - produced);
    const int rc = isal_deflate(stream);
    produced = static_cast<std::size_t>(reinterpret_cast<char*>(stream->next_out) - out.data());
    if (rc != COMP_OK) return fail("gzip compression failed");
    if (stream->internal_state.state == ZSTATE_END) break;
  }
  out.resize(produced);
  return out;
}

// Levels 2-9 (and zlib's -1, its default): zlib trades CPU for a smaller output.
Result<std::string> zlibCompress(std::string_view data, int level) {
  z_stream zs{};
  // 15 window bits + 16 selects the gzip wrapper.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  auto* in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t left = data.size();
  std::size_t produced = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (zs.avail_in == 0 && left > 0) {
      zs.next_in = in;
      zs.avail_in = pieceOf(left);
      in += zs.avail_in;
      left -= zs.avail_in;
    }
    if (out.size() == produced) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data()) + produced;
    zs.avail_out = pieceOf(out.size() - produced);
    rc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced = static_cast<std::size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
  }
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return fail("gzip compression failed");
  out.resize(produced);
  return out;
}

}  // namespace

Result<std::string> gzipCompress(std::string_view data, int level) {
  if (level == 0 || level == 1) return isalCompress(data, level);
  return zlibCompress(data, level);
}

std::string_view describe(GunzipError error) {
  switch (error) {
    case GunzipError::kInvalid:
      return "invalid gzip data";
    case GunzipError::kTruncated:
      return "truncated gzip data";
    case GunzipError::kTooLarge:
      break;
  }
  return "decompressed data too large";
}

Result<std::string> gzipDecompress(std::string_view data, std::size_t max_bytes) {
  // The trailer's ISIZE (the input size mod 2^32) sizes the output in one go for the usual single
  // member; it is only a hint, bounded by what deflate can expand to.
  std::size_t hint = 0;
  if (data.size() >= 18) {
    const auto* t = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
    hint = static_cast<std::size_t>(t[0]) | static_cast<std::size_t>(t[1]) << 8 |
           static_cast<std::size_t>(t[2]) << 16 | static_cast<std::size_t>(t[3]) << 24;
    hint = std::min(hint, data.size() * kMaxDeflateRatio);
  }
  std::string out;
  GzipInflater inflater(max_bytes);
  inflater.start(out, hint);
  auto fed = inflater.feed(data);
  auto finished = inflater.finish();
  if (!fed) return fail(std::string(describe(fed.error())));
  if (!finished) return fail(std::string(describe(finished.error())));
  return out;
}

struct GzipInflater::State {
  inflate_state isal;
};

GzipInflater::GzipInflater(std::size_t max_bytes, std::size_t spare)
    : state_(std::make_unique<State>()),
      max_bytes_(std::min(max_bytes, std::numeric_limits<std::size_t>::max() / 2)),
      spare_(spare) {}

GzipInflater::~GzipInflater() = default;

void GzipInflater::start(std::string& out, std::size_t size_hint) {
  isal_inflate_init(&state_->isal);
  state_->isal.crc_flag = ISAL_GZIP;
  out_ = &out;
  produced_ = 0;
  fed_ = false;
  done_ = false;
  error_.reset();
  std::size_t room = size_hint;
  if (room == 0 && out.capacity() > spare_) room = out.capacity() - spare_;
  // One byte past the cap tells "exactly max_bytes" from "more".
  room = std::min(std::max(room, kMinRoom), max_bytes_ + 1);
  out.clear();
  out.reserve(room + spare_);
  out.resize(room);
}

tl::expected<void, GunzipError> GzipInflater::grow() {
  std::string& out = *out_;
  if (out.size() > produced_) return {};  // room left beyond the last piece
  const std::size_t room = std::min(std::max(out.size() * 2, kMinRoom), max_bytes_ + 1);
  if (room <= out.size()) return tl::unexpected(GunzipError::kTooLarge);
  out.reserve(room + spare_);
  out.resize(room);
  return {};
}

tl::expected<void, GunzipError> GzipInflater::feed(std::string_view chunk) {
  if (error_) return tl::unexpected(*error_);
  if (done_) return {};  // bytes after the member are ignored
  if (!chunk.empty()) fed_ = true;
  inflate_state& s = state_->isal;
  std::string& out = *out_;
  auto* in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(chunk.data()));
  std::size_t left = chunk.size();
  s.avail_in = 0;
  auto failWith = [this](GunzipError error) {
    error_ = error;
    return tl::unexpected(error);
  };
  for (;;) {
    if (s.avail_in == 0) {
      if (left == 0) return {};
      s.next_in = in;
      s.avail_in = pieceOf(left);
      in += s.avail_in;
      left -= s.avail_in;
    }
    s.next_out = reinterpret_cast<std::uint8_t*>(out.data()) + produced_;
    s.avail_out = pieceOf(out.size() - produced_);
    const std::uint32_t avail_in_before = s.avail_in;
    const std::size_t produced_before = produced_;
    const int rc = isal_inflate(&s);
    produced_ = static_cast<std::size_t>(reinterpret_cast<char*>(s.next_out) - out.data());
    if (rc < 0) return failWith(GunzipError::kInvalid);
    if (produced_ > max_bytes_) return failWith(GunzipError::kTooLarge);
    if (s.block_state == ISAL_BLOCK_FINISH) {
      done_ = true;
      return {};
    }
    if (s.avail_out == 0) {
      if (auto grown = grow(); !grown) return failWith(grown.error());
    } else if (s.avail_in == avail_in_before && produced_ == produced_before) {
      // Room on both sides, yet no progress and no end of the member: nothing more can come.
      return failWith(GunzipError::kInvalid);
    }
  }
}

tl::expected<void, GunzipError> GzipInflater::finish() {
  if (out_ != nullptr) out_->resize(std::min(produced_, out_->size()));
  if (!error_ && !done_) {
    // zlib's answer to no input at all was "invalid"; any part of a member is "truncated".
    error_ = fed_ ? GunzipError::kTruncated : GunzipError::kInvalid;
  }
  if (error_) return tl::unexpected(*error_);
  return {};
}

}  // namespace siem
