// An owned file descriptor, and close-on-exec pipes made of them.
//
//   FLAKY_ASSIGN_OR_RETURN(flaky::Pipe pipe, flaky::MakePipe());
//   ... fork; the child writes to pipe.write.get() ...
//   pipe.write.Close();
//   read(pipe.read.get(), ...);  // EOF once every writer has closed it
#ifndef BASE_FD_H_
#define BASE_FD_H_

#include "absl/status/statusor.h"

namespace flaky {

// Fd owns a file descriptor and closes it when destroyed. Movable, not
// copyable; thread-compatible.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }

  // get returns the descriptor, -1 when none is held.
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Close closes the descriptor now (once; later calls do nothing).
  void Close();
  // Release gives up ownership and returns the descriptor.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Pipe is the two ends of a pipe.
struct Pipe {
  Fd read;
  Fd write;
};

// MakePipe returns a new pipe whose ends are close-on-exec. Unavailable,
// with strerror, when the process is out of descriptors.
absl::StatusOr<Pipe> MakePipe();

}  // namespace flaky

#endif  // BASE_FD_H_
