#include "tests/fakes/hec_receiver/gunzip.h"

#include <algorithm>
#include <cstdint>

#include <isa-l/igzip_lib.h>

namespace siem::hec_fake {

struct Gunzip::State {
  inflate_state inflate{};
};

Gunzip::Gunzip() : state_(std::make_unique<State>()) {}

Gunzip::~Gunzip() = default;

GunzipStatus Gunzip::decode(std::string_view compressed, std::size_t max_bytes, std::size_t spare,
                            std::string& buffer, std::size_t& size) {
  // Decoding until the output passes the cap: one byte more than max_bytes is the proof.
  const std::size_t limit = max_bytes + 1;
  size = 0;
  if (compressed.size() > UINT32_MAX) return GunzipStatus::kTooLarge;
  if (compressed.empty()) {
    if (buffer.size() < spare) buffer.resize(spare);
    return GunzipStatus::kOk;
  }
  // Audit JSON compresses about tenfold; the room grows by doubling when that guess is short.
  const std::size_t guess = std::min(compressed.size() * 8, limit) + spare;
  if (buffer.size() < guess) buffer.resize(guess);

  inflate_state& state = state_->inflate;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_GZIP;
  state.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(compressed.data()));
  state.avail_in = static_cast<std::uint32_t>(compressed.size());
  for (;;) {
    const std::size_t room = std::min(buffer.size() - spare, limit);
    if (size == room) {
      if (room == limit) return GunzipStatus::kTooLarge;
      buffer.resize(std::min(std::max(buffer.size() * 2, std::size_t{1} << 16), limit + spare));
      continue;
    }
    auto* const base = reinterpret_cast<std::uint8_t*>(buffer.data());
    state.next_out = base + size;
    state.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(room - size, UINT32_MAX));
    const std::uint32_t avail_in_before = state.avail_in;
    const std::size_t size_before = size;
    const int rc = isal_inflate(&state);
    size = static_cast<std::size_t>(state.next_out - base);
    if (rc < 0) return GunzipStatus::kInvalid;
    if (state.block_state != ISAL_BLOCK_FINISH && state.avail_in == avail_in_before &&
        size == size_before) {
      return state.avail_in == 0 ? GunzipStatus::kTruncated : GunzipStatus::kInvalid;
    }
    if (size > max_bytes) return GunzipStatus::kTooLarge;
    if (state.block_state == ISAL_BLOCK_FINISH) {
      if (state.avail_in == 0) return GunzipStatus::kOk;
      // Another member follows: start it with what is left of the input.
      std::uint8_t* const next_in = state.next_in;
      const std::uint32_t avail_in = state.avail_in;
      isal_inflate_reset(&state);
      state.crc_flag = ISAL_GZIP;
      state.next_in = next_in;
      state.avail_in = avail_in;
      continue;
    }
    // ISA-L stops with room left only when it has used up the input.
    if (state.avail_in == 0 && state.avail_out != 0) return GunzipStatus::kTruncated;
  }
}

}  // namespace siem::hec_fake
