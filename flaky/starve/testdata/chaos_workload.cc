// A fixed workload for chaos_shim_test: makes a known sequence of the calls
// the shim intercepts and prints the shim's counters.
//
//   chaos_workload threads      3 threads, one after another, each making
//                               100 cond signals, 50 sem posts and 20
//                               broadcasts
//   chaos_workload signals N    N condition signals on the main thread
//   chaos_workload unlocks N    N mutex lock/unlock pairs (for timing)
// Output: "stalls=S capped=C stalled_ns=T loop_ns=L", or "no-shim ..." when
// the shim is not loaded.
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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
  std::printf("%sstalls=%llu capped=%llu stalled_ns=%llu loop_ns=%lld\n",
              loaded ? "" : "no-shim ",
              static_cast<unsigned long long>(Counter("flaky_chaos_stall_count")),
              static_cast<unsigned long long>(Counter("flaky_chaos_capped_count")),
              static_cast<unsigned long long>(Counter("flaky_chaos_stalled_ns")),
              static_cast<long long>(loop_ns));
  return 0;
}
