// gzip decoding of request bodies with an output cap, into storage reused from request to request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace siem::hec_fake {

enum class GunzipStatus : std::uint8_t {
  kOk,
  kInvalid,    // not gzip, a corrupt deflate stream, a CRC/length mismatch, or bytes after a member
  kTruncated,  // the input ended inside a member
  kTooLarge,   // the output would pass the cap
};

// Decodes a `Content-Encoding: gzip` body: one or more gzip members, back to back, as RFC 1952
// allows. Not thread-safe; reusable.
class Gunzip {
 public:
  Gunzip();
  ~Gunzip();
  Gunzip(const Gunzip&) = delete;
  Gunzip& operator=(const Gunzip&) = delete;

  // Decodes `compressed` into `buffer`, whose size is working room rather than content: it only
  // grows (up to max_bytes + 1 + spare), so a reused buffer costs no allocation and no zeroing.
  // The output is `buffer.substr(0, *size)` with at least `spare` bytes of the buffer after it.
  // Decoding stops as soon as the output passes `max_bytes` (kTooLarge), so a gzip bomb costs
  // bounded memory and CPU. An empty input decodes to nothing.
  GunzipStatus decode(std::string_view compressed, std::size_t max_bytes, std::size_t spare,
                      std::string& buffer, std::size_t& size);

 private:
  struct State;
  std::unique_ptr<State> state_;  // ISA-L's inflate state (tens of KB), kept between bodies
};

}  // namespace siem::hec_fake
