// Busy competitors for a test's CPUs: spinning threads of the wrapper
// process, each pinned to one CPU.
//
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<Hogs> hogs, Hogs::Start(2, {0}));
//   ... run the test ...
//   hogs->Stop();  // or let the destructor do it
//
// Threads rather than processes because they are cheap to start and stop
// (tens of microseconds) and cannot outlive the wrapper: a SIGKILLed wrapper
// takes its threads with it.
#ifndef FLAKY_STARVE_HOGS_H_
#define FLAKY_STARVE_HOGS_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::starve {

// kHogThreadName is each hog thread's name (/proc/PID/task/TID/comm).
inline constexpr absl::string_view kHogThreadName = "flaky-hog";

// Hogs is a set of running hog threads. Start and Stop must be called from
// one thread; the hogs themselves touch only an atomic flag.
class Hogs {
 public:
  // Start launches `count` threads; hog i spins pinned to
  // cpus[i % cpus.size()]. InvalidArgument when `cpus` is empty or count is
  // negative; Internal when a thread cannot be created or pinned (the hogs
  // already started are stopped).
  static absl::StatusOr<std::unique_ptr<Hogs>> Start(
      int count, const std::vector<int>& cpus);

  Hogs(const Hogs&) = delete;
  Hogs& operator=(const Hogs&) = delete;
  ~Hogs() { Stop(); }

  // Stop asks every hog to stop and joins them. Idempotent.
  void Stop();

  // cpus returns the CPU each hog is pinned to.
  const std::vector<int>& cpus() const { return cpus_; }

 private:
  Hogs() = default;

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::vector<int> cpus_;
};

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_HOGS_H_
