// gzip (RFC 1952) encoding and decoding for request and response bodies.
//
// Compression at levels 0 and 1 and all decompression use Intel ISA-L (igzip), several times
// faster than zlib on audit JSON for about the same ratio; levels 2-9 use zlib at that level, for
// users who trade CPU for a smaller wire. Output is plain gzip either way: any gzip decoder reads
// it, and the decoder reads any gzip encoder's output.
//
// Only the first gzip member of the input is decoded; bytes after its trailer are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "agent/api/result.h"

namespace siem {

// gzip-compresses `data` into one complete gzip member (for `Content-Encoding: gzip` bodies).
// Levels 0 and 1 are ISA-L's fast levels (0 still compresses, unlike zlib's 0); 2-9 are zlib's.
// Thread-safe: each call has its own state.
Result<std::string> gzipCompress(std::string_view data, int level = 6);

// Undoes gzipCompress (or any gzip encoder); fails beyond `max_bytes` of output. Errors:
// "invalid gzip data", "truncated gzip data", "decompressed data too large".
Result<std::string> gzipDecompress(std::string_view data, std::size_t max_bytes = 64u << 20);

enum class GunzipError : std::uint8_t {
  kInvalid,    // not gzip, a corrupt deflate stream, or a CRC/length mismatch in the trailer
  kTruncated,  // the input ended before the member's trailer
  kTooLarge,   // the output would exceed the decoder's max_bytes
};

// The messages gzipDecompress gives for each error.
std::string_view describe(GunzipError error);

// Decodes one gzip member fed in pieces (as a response body arrives) straight into a caller's
// string, reusing its storage. Between start() and finish() the string's size is the decoder's
// working room, not its content; finish() trims it to the decoded bytes.
//
// Not thread-safe; reusable: start() begins a new member.
class GzipInflater {
 public:
  // `max_bytes`: the most output accepted. `spare`: bytes of capacity finish() leaves after the
  // content (room for parsers that read past the end, such as simdjson's padding).
  explicit GzipInflater(std::size_t max_bytes, std::size_t spare = 0);
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Begins decoding into `out`, which must outlive finish(). `size_hint` is the expected output
  // size (0 when unknown: the storage `out` already has is used first).
  void start(std::string& out, std::size_t size_hint = 0);
  // Decodes `chunk`. After an error, every later call returns the same error.
  tl::expected<void, GunzipError> feed(std::string_view chunk);
  // Ends the member: kTruncated unless its trailer was read. Leaves `out` holding the output.
  tl::expected<void, GunzipError> finish();

 private:
  tl::expected<void, GunzipError> grow();

  struct State;
  std::unique_ptr<State> state_;
  std::size_t max_bytes_;
  std::size_t spare_;
  std::string* out_ = nullptr;
  std::size_t produced_ = 0;
  bool fed_ = false;  // whether any input arrived since start()
  bool done_ = false;
  std::optional<GunzipError> error_;
};

}  // namespace siem
