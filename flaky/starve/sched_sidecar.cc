#include "flaky/starve/sched_sidecar.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/fd.h"
#include "base/process.h"
#include "base/status_macros.h"

namespace flaky::starve {
namespace {

constexpr absl::Duration kStopTimeout = absl::Seconds(10);

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// RunSidecar is the child's whole life (it dies with the wrapper:
// flaky::Process::Fork sets PR_SET_PDEATHSIG).
[[noreturn]] void RunSidecar(pid_t test, const SchedSpec& spec,
                             uint64_t run_seed, const std::vector<int>& cpus,
                             int report_fd, ThreadControl* control) {
  // Keep nothing of the parent's but the report pipe and stdio: a copy of
  // the wrapper's pipes would keep them open (it reads the test's
  // exec-error pipe until EOF).
  const int keep = report_fd;
  syscall(SYS_close_range, 3, keep - 1, 0);
  syscall(SYS_close_range, keep + 1, ~0U, 0);
  sigset_t stop;
  sigemptyset(&stop);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&stop, sig);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int signals = signalfd(-1, &stop, SFD_CLOEXEC);
  if (spec.modes & SchedSpec::kFifo) {
    // Above the favoured thread, so that every window ends on time.
    struct sched_param param = {};
    param.sched_priority = 2;
    sched_setscheduler(0, SCHED_FIFO, &param);
  }
  const int test_fd = static_cast<int>(syscall(SYS_pidfd_open, test, 0));
  SchedPerturber perturber(spec, run_seed, cpus, control);
  cpu_set_t own_cpus;
  const bool know_own_cpus =
      sched_getaffinity(0, sizeof(own_cpus), &own_cpus) == 0;
  std::optional<int> busy_cpu;
  while (test_fd >= 0 && signals >= 0) {
    const int64_t now = NowNs();
    const int64_t next = perturber.Step(now);
    struct pollfd fds[2] = {{test_fd, POLLIN, 0}, {signals, POLLIN, 0}};
    const std::optional<int> busy = perturber.BusyCpu();
    if (busy != busy_cpu && know_own_cpus) {
      // A stall's or a hold's CPU is kept busy by this process: the
      // SCHED_IDLE threads there run only when it leaves them room, which
      // it does not.
      cpu_set_t set;
      CPU_ZERO(&set);
      if (busy) CPU_SET(*busy, &set);
      sched_setaffinity(0, sizeof(set), busy ? &set : &own_cpus);
      busy_cpu = busy;
    }
    int ready = 0;
    if (busy) {
      // Spin until the next step, still noticing the test's end and
      // signals at once.
      while ((ready = poll(fds, 2, 0)) == 0 && NowNs() < next) {
      }
    } else {
      const int64_t wait_ns = std::max<int64_t>(0, next - now);
      struct timespec timeout = {wait_ns / 1000000000LL,
                                 wait_ns % 1000000000LL};
      ready = ppoll(fds, 2, &timeout, nullptr);
    }
    if (ready > 0) break;  // the test ended, or we are asked to stop
    if (ready < 0 && errno != EINTR) break;
  }
  perturber.Restore();
  const SchedCounters counters = perturber.counters();
  (void)!write(report_fd, &counters, sizeof(counters));
  _exit(0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SchedSidecar>> SchedSidecar::Start(
    pid_t test, const SchedSpec& spec, uint64_t run_seed,
    std::vector<int> cpus) {
  absl::StatusOr<std::unique_ptr<ThreadControl>> control =
      ProcessThreadControl(test);
  if (!control.ok()) return control.status();
  FLAKY_ASSIGN_OR_RETURN(Pipe report, MakePipe());
  const int report_fd = report.write.get();
  const int report_read = report.read.get();
  ThreadControl* const thread_control = control->get();
  absl::StatusOr<::flaky::Process> process = ::flaky::Process::Fork(
      {.argv = {"the sched sidecar"},
       .inherit_stdin = true,
       .parent_death_signal = SIGKILL},
      [&] {
        close(report_read);
        RunSidecar(test, spec, run_seed, cpus, report_fd, thread_control);
      });
  if (!process.ok()) return process.status();
  report.write.Close();
  return std::unique_ptr<SchedSidecar>(
      new SchedSidecar(*std::move(process), std::move(report.read),
                       *std::move(control), std::move(cpus)));
}

SchedSidecar::~SchedSidecar() {
  if (!stopped_) Stop().IgnoreError();
}

void SchedSidecar::RestoreFromHere() {
  ThreadSchedule base;
  base.cpus = cpus_;
  for (pid_t tid : control_->Threads()) control_->Apply(tid, base).IgnoreError();
}

bool SchedSidecar::CheckAlive() {
  if (process_.exit_status()) return false;
  if (!process_.Poll()) return true;
  RestoreFromHere();
  return false;
}

absl::StatusOr<SchedCounters> SchedSidecar::ReadReport() {
  SchedCounters counters;
  ssize_t n;
  do {
    n = read(report_.get(), &counters, sizeof(counters));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(counters))) return counters;
  RestoreFromHere();
  return absl::InternalError(absl::StrCat(
      "the sched sidecar ended without reporting (",
      process_.exit_status().value_or(ExitStatus{-1, 0}).ToString(),
      "); the test's threads were given their scheduling back"));
}

absl::StatusOr<SchedCounters> SchedSidecar::Stop() {
  if (stopped_) {
    return absl::FailedPreconditionError("the sched sidecar is stopped");
  }
  stopped_ = true;
  if (!process_.exit_status()) {
    process_.Signal(SIGTERM);
    // Killed after kStopTimeout; the report then says so.
    process_.WaitFor(kStopTimeout).IgnoreError();
  }
  absl::StatusOr<SchedCounters> report = ReadReport();
  report_.Close();
  return report;
}

}  // namespace flaky::starve
