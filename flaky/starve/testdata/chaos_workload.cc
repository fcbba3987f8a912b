// A fixed workload for chaos_shim_test: makes a known sequence of the calls
// the shim intercepts and prints the shim's counters.
//
//   chaos_workload threads      3 threads, one after another, each making
//                               100 cond signals, 50 sem posts and 20
//                               broadcasts, none of which wakes anybody
//   chaos_workload signals N    N condition signals on the main thread
//   chaos_workload unlocks N    N mutex lock/unlock pairs (for timing)
//   chaos_workload handoffs N   N hand-offs: the main thread posts a
//                               semaphore a helper thread is blocked on (a
//                               wake-up with a waiter, every time), then
//                               unlocks a private mutex (its next call).
//                               The helper makes no intercepted call after
//                               its start, so the sequence of intercepted
//                               calls is fixed: 1 thread start, then N
//                               (post, unlock) pairs.
// Output: "stalls=S capped=C stalled_ns=T sites=N sites_stalled=M
// loop_ns=L", or "no-shim ..." when the shim is not loaded.
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void* Worker(void*) {
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  sem_t sem;
  sem_init(&sem, 0, 0);
  for (int i = 0; i < 100; ++i) pthread_cond_signal(&cond);
  for (int i = 0; i < 50; ++i) sem_post(&sem);
  for (int i = 0; i < 20; ++i) pthread_cond_broadcast(&cond);
  sem_destroy(&sem);
  return nullptr;
}

struct Helper {
  sem_t go;
  std::atomic<pid_t> tid{0};
  std::atomic<long> woken{0};
};

void* HelperMain(void* raw) {
  Helper* helper = static_cast<Helper*>(raw);
  helper->tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  while (true) {
    sem_wait(&helper->go);  // not intercepted
    helper->woken.fetch_add(1);
  }
  return nullptr;
}

// WaitUntilAsleep waits until thread `tid`, which sleeps nowhere but in
// sem_wait, is asleep there, i.e. counted as the semaphore's waiter. Exits
// the process after 60 s: the test then fails on the exit status.
void WaitUntilAsleep(pid_t tid) {
  const std::string path =
      "/proc/self/task/" + std::to_string(tid) + "/stat";
  const int64_t deadline = NowNs() + 60000000000LL;
  while (NowNs() < deadline) {
    char buffer[512] = {};
    FILE* stat = std::fopen(path.c_str(), "r");
    if (stat == nullptr) break;
    const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, stat);
    std::fclose(stat);
    const char* paren = std::strrchr(buffer, ')');
    if (n > 0 && paren != nullptr && paren[1] == ' ' && paren[2] == 'S') return;
    sched_yield();
  }
  std::fprintf(stderr, "helper thread %d never fell asleep\n", tid);
  std::exit(4);
}

int HandOffs(long n) {
  // Never destroyed: the helper is still blocked on it when the process
  // ends.
  static Helper helper;
  sem_init(&helper.go, 0, 0);
  pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER;
  pthread_t thread;
  if (pthread_create(&thread, nullptr, HelperMain, &helper) != 0) return 3;
  while (helper.tid.load() == 0) sched_yield();
  for (long i = 0; i < n; ++i) {
    while (helper.woken.load() != i) sched_yield();
    WaitUntilAsleep(helper.tid.load());
    sem_post(&helper.go);  // woke a waiter
    pthread_mutex_lock(&mine);
    pthread_mutex_unlock(&mine);  // the call after the wake
  }
  // The helper stays blocked; main() ends the process without joining it.
  while (helper.woken.load() != n) sched_yield();
  return 0;
}

uint64_t Counter(const char* name) {
  auto fn = reinterpret_cast<uint64_t (*)()>(dlsym(RTLD_DEFAULT, name));
  return fn != nullptr ? fn() : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: chaos_workload threads|signals N|unlocks N\n");
    return 2;
  }
  const long n = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 0;
  const int64_t start = NowNs();
  if (std::strcmp(argv[1], "threads") == 0) {
    for (int i = 0; i < 3; ++i) {
      pthread_t thread;
      if (pthread_create(&thread, nullptr, Worker, nullptr) != 0) return 3;
      pthread_join(thread, nullptr);
    }
  } else if (std::strcmp(argv[1], "signals") == 0) {
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    for (long i = 0; i < n; ++i) pthread_cond_signal(&cond);
  } else if (std::strcmp(argv[1], "handoffs") == 0) {
    const int rc = HandOffs(n);
    if (rc != 0) return rc;
  } else if (std::strcmp(argv[1], "unlocks") == 0) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    for (long i = 0; i < n; ++i) {
      pthread_mutex_lock(&mutex);
      pthread_mutex_unlock(&mutex);
    }
  } else {
    std::fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  const int64_t loop_ns = NowNs() - start;
  const bool loaded = dlsym(RTLD_DEFAULT, "flaky_chaos_seed") != nullptr;
  std::printf(
      "%sstalls=%llu capped=%llu stalled_ns=%llu sites=%llu "
      "sites_stalled=%llu loop_ns=%lld\n",
      loaded ? "" : "no-shim ",
      static_cast<unsigned long long>(Counter("flaky_chaos_stall_count")),
      static_cast<unsigned long long>(Counter("flaky_chaos_capped_count")),
      static_cast<unsigned long long>(Counter("flaky_chaos_stalled_ns")),
      static_cast<unsigned long long>(Counter("flaky_chaos_site_count")),
      static_cast<unsigned long long>(Counter("flaky_chaos_sites_stalled")),
      static_cast<long long>(loop_ns));
  std::fflush(stdout);
  // The helper of `handoffs` is still blocked; end without joining it.
  _exit(0);
}
