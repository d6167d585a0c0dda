#pragma once
#include <stdexcept>
namespace gloo {
class Exception : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class IoException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
}  // namespace gloo
