// Result<T>: a value or an Error with an operator-facing message. Used across module boundaries
// instead of exceptions.
#pragma once

#include <string>
#include <tl/expected.hpp>

namespace siem {

struct Error {
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace siem
