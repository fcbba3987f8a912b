#include "flaky/starve/hogs.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace flaky::starve {

absl::StatusOr<std::unique_ptr<Hogs>> Hogs::Start(
    int count, const std::vector<int>& cpus) {
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hog count ", count, " is negative"));
  }
  if (count > 0 && cpus.empty()) {
    return absl::InvalidArgumentError("hogs need at least one CPU to run on");
  }
  std::unique_ptr<Hogs> hogs(new Hogs());
  for (int i = 0; i < count; ++i) {
    const int cpu = cpus[i % cpus.size()];
    std::atomic<bool>* stop = &hogs->stop_;
    hogs->threads_.emplace_back([stop] {
      while (!stop->load(std::memory_order_relaxed)) {
      }
    });
    pthread_t handle = hogs->threads_.back().native_handle();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (int err = pthread_setaffinity_np(handle, sizeof(set), &set); err != 0) {
      return absl::InternalError(absl::StrCat("cannot pin a hog to CPU ", cpu,
                                              ": ", std::strerror(err)));
    }
    pthread_setname_np(handle, std::string(kHogThreadName).c_str());
    hogs->cpus_.push_back(cpu);
  }
  return hogs;
}

void Hogs::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace flaky::starve
