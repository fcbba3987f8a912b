// A stand-in test for sched_sidecar_test: three threads (main and two
// more), all blocked reading stdin; the process exits once stdin reaches
// EOF. Exec'd rather than forked from the test, so that threads are
// created in a fresh process (ThreadSanitizer forbids it after a fork).
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

namespace {

void* ReadUntilEof(void*) {
  char byte;
  ssize_t n;
  do {
    n = read(0, &byte, 1);
  } while (n > 0 || (n < 0 && errno == EINTR));
  return nullptr;
}

}  // namespace

int main() {
  pthread_t threads[2];
  for (pthread_t& thread : threads) {
    if (pthread_create(&thread, nullptr, ReadUntilEof, nullptr) != 0) return 3;
  }
  ReadUntilEof(nullptr);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  return 0;
}
