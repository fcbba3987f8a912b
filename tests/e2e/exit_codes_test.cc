// The exit codes README.md promises, checked on the real `flaky` binary for
// every command: success, the verdicts, a bad flag, a bad FLAKY_* twin, a
// bad target, an environment error and an interrupt. Bazel is
// testdata/scripted_bazel.sh (no nested Bazel: fast and deterministic);
// hunt_e2e_test checks a bad target against real Bazel.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "flaky/results/store.h"

namespace flaky::e2e {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", path);
}

// Ended is how one `flaky` process ended and what it printed.
struct Ended {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const Ended& ended) {
  return os << "exit " << ended.exit_code << "\nstdout:\n"
            << ended.out << "\nstderr:\n" << ended.err;
}

class ExitCodesTest : public ::testing::Test {
 protected:
  ExitCodesTest()
      : dir_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()
                              ->current_test_info()
                              ->name())),
        ws_(dir_ + "/ws"),
        store_(dir_ + "/flaky.db") {
    mkdir(dir_.c_str(), 0755);
    mkdir(ws_.c_str(), 0755);
    std::ofstream(ws_ + "/WORKSPACE") << "workspace(name = \"t\")\n";
  }

  // Flaky runs `flaky ARGS` in the workspace with the scripted Bazel and
  // the test's store, `env` added to its environment. With `interrupt_when`,
  // it sends SIGINT once that holds (checked until a deadline, which fails
  // the test loudly).
  Ended Flaky(std::vector<std::string> args,
              const std::map<std::string, std::string>& env = {},
              const std::function<bool()>& interrupt_when = nullptr) {
    const std::string out = absl::StrCat(dir_, "/out", ++runs_);
    const std::string err = absl::StrCat(dir_, "/err", runs_);
    const std::string flaky = Runfile("flaky/flaky");
    std::vector<std::string> argv = {flaky};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(ws_.c_str()) != 0) _exit(120);
      unsetenv("BUILD_WORKSPACE_DIRECTORY");
      unsetenv("BUILD_WORKING_DIRECTORY");
      for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
      if (freopen(out.c_str(), "w", stdout) == nullptr) _exit(122);
      if (freopen(err.c_str(), "w", stderr) == nullptr) _exit(123);
      std::vector<char*> raw;
      for (std::string& arg : argv) raw.push_back(arg.data());
      raw.push_back(nullptr);
      execv(flaky.c_str(), raw.data());
      _exit(121);
    }
    Ended ended;
    if (pid < 0) {
      ADD_FAILURE() << "fork failed";
      return ended;
    }
    int status = 0;
    if (interrupt_when) {
      const absl::Time deadline = absl::Now() + absl::Seconds(60);
      bool exited = false;
      while (!interrupt_when()) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
          exited = true;
          break;
        }
        if (absl::Now() > deadline) {
          kill(pid, SIGKILL);
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
      EXPECT_FALSE(exited) << "flaky ended before the interrupt:\n"
                           << ReadFile(err);
      if (!exited) {
        kill(pid, SIGINT);
        waitpid(pid, &status, 0);
      }
    } else {
      waitpid(pid, &status, 0);
    }
    ended.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ended.out = ReadFile(out);
    ended.err = ReadFile(err);
    return ended;
  }

  // HuntFlags are the flags every hunting command needs here.
  std::vector<std::string> HuntFlags() const {
    return {"--bazel=" + Runfile("tests/e2e/testdata/scripted_bazel.sh"),
            "--store=" + store_, "--starve_wrapper="};
  }

  std::vector<std::string> With(std::vector<std::string> args) const {
    for (const std::string& flag : HuntFlags()) args.push_back(flag);
    return args;
  }

  // Hanging makes the scripted Bazel run until SIGINT; the returned
  // predicate holds once its first round is written.
  std::function<bool()> Hanging(std::map<std::string, std::string>& env) {
    const std::string mark = absl::StrCat(dir_, "/hang", runs_ + 1);
    env["FAKE_BAZEL_HANG"] = mark;
    return [mark] { return access((mark + ".ready").c_str(), F_OK) == 0; };
  }

  std::string dir_;
  std::string ws_;
  std::string store_;
  int runs_ = 0;
};

TEST_F(ExitCodesTest, Hunt) {
  Ended ok = Flaky(With({"hunt", "//t:a_test", "--runs=3"}));
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr("3 runs, 0 failed"));
  // Failures are findings, not errors: a hunt succeeds whatever it found.
  Ended found = Flaky(With({"hunt", "//t:a_test", "--runs=3"}),
                      {{"FAKE_BAZEL_FAIL", "all"}});
  EXPECT_EQ(found.exit_code, 0) << found;

  Ended flag = Flaky(With({"hunt", "//t:a_test", "--runz=3"}));
  EXPECT_EQ(flag.exit_code, 2) << flag;
  EXPECT_EQ(flag.err, "flaky hunt: unknown flag --runz (did you mean --runs?)\n");
  Ended value = Flaky(With({"hunt", "//t:a_test", "--runs=abc"}));
  EXPECT_EQ(value.exit_code, 2) << value;
  EXPECT_THAT(value.err, HasSubstr("flaky hunt: --runs=abc is not a valid --runs"));
  Ended twin = Flaky(With({"hunt", "//t:a_test"}), {{"FLAKY_RUNS", "abc"}});
  EXPECT_EQ(twin.exit_code, 2) << twin;
  EXPECT_THAT(twin.err, HasSubstr("flaky hunt: FLAKY_RUNS=abc is not a valid --runs"));
  Ended target = Flaky(With({"hunt", "//t:no_such_test", "--runs=3"}));
  EXPECT_EQ(target.exit_code, 2) << target;
  EXPECT_THAT(target.err, HasSubstr("bad targets"));
  EXPECT_THAT(target.err, HasSubstr("no such target '//t:no_such_test'"));
  // --mode=direct on a test whose binary is not in bazel-bin after the
  // build (the scripted Bazel builds nothing): one line naming the target,
  // the usage code, and no hunt half-written in the store.
  Ended missing = Flaky(With({"hunt", "//t:a_test", "--runs=3", "--mode=direct",
                              "--hunt_id=missing_binary"}));
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_THAT(missing.err, HasSubstr("flaky hunt: //t:a_test: its binary "));
  EXPECT_THAT(missing.err, HasSubstr("is missing from bazel-bin"));
  absl::StatusOr<std::unique_ptr<results::Store>> store = results::Store::Open(store_);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = (*store)->ListHunts();
  ASSERT_TRUE(hunts.ok()) << hunts.status();
  for (const results::HuntRecord& hunt : *hunts) EXPECT_NE(hunt.id, "missing_binary");
  Ended no_bazel = Flaky({"hunt", "//t:a_test", "--bazel=/no/such/bazel",
                          "--store=" + store_, "--starve_wrapper="});
  EXPECT_EQ(no_bazel.exit_code, 1) << no_bazel;
  EXPECT_THAT(no_bazel.err, HasSubstr("--bazel=/no/such/bazel is not an executable"));

  std::map<std::string, std::string> env;
  auto ready = Hanging(env);
  Ended interrupted = Flaky(With({"hunt", "//t:a_test", "--runs=5"}), env, ready);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted;
  EXPECT_THAT(interrupted.err, HasSubstr("interrupted: 5 trials of 5 completed runs"));
}

TEST_F(ExitCodesTest, GateExitsWithTheVerdictAndThreeOnEveryError) {
  Ended clean = Flaky(With({"gate", "//t:a_test", "--runs=20", "--max_rate=0.2"}));
  EXPECT_EQ(clean.exit_code, 0) << clean;
  EXPECT_THAT(clean.out, HasSubstr("Gate: CLEAN"));
  Ended flaky = Flaky(With({"gate", "//t:a_test", "--runs=5", "--max_rate=0.01"}),
                      {{"FAKE_BAZEL_FAIL", "all"}});
  EXPECT_EQ(flaky.exit_code, 1) << flaky;
  EXPECT_THAT(flaky.out, HasSubstr("Gate: FLAKY"));
  Ended undecided = Flaky(With({"gate", "//t:a_test", "--runs=2"}));
  EXPECT_EQ(undecided.exit_code, 2) << undecided;
  EXPECT_THAT(undecided.out, HasSubstr("Gate: INCONCLUSIVE"));

  // A typo must never read as FLAKY (1) or INCONCLUSIVE (2).
  Ended flag = Flaky(With({"gate", "//t:a_test", "--runz=5"}));
  EXPECT_EQ(flag.exit_code, 3) << flag;
  EXPECT_EQ(flag.err, "flaky gate: unknown flag --runz (did you mean --runs?)\n");
  Ended value = Flaky(With({"gate", "//t:a_test", "--runs=abc"}));
  EXPECT_EQ(value.exit_code, 3) << value;
  EXPECT_THAT(value.err, HasSubstr("--runs=abc is not a valid --runs"));
  Ended twin = Flaky(With({"gate", "//t:a_test"}), {{"FLAKY_RUNS", "abc"}});
  EXPECT_EQ(twin.exit_code, 3) << twin;
  EXPECT_THAT(twin.err, HasSubstr("FLAKY_RUNS=abc is not a valid --runs"));
  Ended target = Flaky(With({"gate", "//t:no_such_test", "--runs=2"}));
  EXPECT_EQ(target.exit_code, 3) << target;
  EXPECT_THAT(target.err, HasSubstr("no such target '//t:no_such_test'"));
  Ended no_targets = Flaky(With({"gate"}));
  EXPECT_EQ(no_targets.exit_code, 3) << no_targets;
  EXPECT_THAT(no_targets.err, HasSubstr("no targets"));

  std::map<std::string, std::string> env;
  auto ready = Hanging(env);
  Ended interrupted = Flaky(With({"gate", "//t:a_test", "--runs=5"}), env, ready);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted;
}

TEST_F(ExitCodesTest, VerifyExitsZeroOnlyWhenTheFixIsShown) {
  const std::vector<std::string> sides = {"verify", "--baseline=//t:orig",
                                          "--candidate=//t:fixed"};
  auto args = [&](std::vector<std::string> more) {
    std::vector<std::string> all = sides;
    all.insert(all.end(), more.begin(), more.end());
    return With(all);
  };
  const std::map<std::string, std::string> orig_fails = {{"FAKE_BAZEL_FAIL", "//t:orig"}};
  Ended verified = Flaky(args({"--runs=20", "--max_rate=0.2"}), orig_fails);
  EXPECT_EQ(verified.exit_code, 0) << verified;
  EXPECT_THAT(verified.out, HasSubstr("Verified"));
  Ended not_yet = Flaky(args({"--runs=2", "--max_rate=0.2"}), orig_fails);
  EXPECT_EQ(not_yet.exit_code, 2) << not_yet;
  EXPECT_THAT(not_yet.out, HasSubstr("Not verified yet"));

  Ended flag = Flaky(args({"--runz=2"}));
  EXPECT_EQ(flag.exit_code, 3) << flag;
  EXPECT_THAT(flag.err, HasSubstr("flaky verify: unknown flag --runz"));
  Ended twin = Flaky(args({}), {{"FLAKY_CONFIDENCE", "high"}});
  EXPECT_EQ(twin.exit_code, 3) << twin;
  EXPECT_THAT(twin.err, HasSubstr("FLAKY_CONFIDENCE=high is not a valid --confidence"));
  Ended target = Flaky(With({"verify", "--baseline=//t:no_such_test",
                             "--candidate=//t:fixed", "--runs=2"}));
  EXPECT_EQ(target.exit_code, 3) << target;
  EXPECT_THAT(target.err, HasSubstr("no such target"));

  std::map<std::string, std::string> env = orig_fails;
  auto ready = Hanging(env);
  Ended interrupted = Flaky(args({"--runs=5"}), env, ready);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted;
}

TEST_F(ExitCodesTest, PlanReportAndServe) {
  Ended plan = Flaky({"plan", "--max_rate=0.001"});
  EXPECT_EQ(plan.exit_code, 0) << plan;
  EXPECT_THAT(plan.out, HasSubstr("3332"));
  EXPECT_EQ(Flaky({"plan", "--max_rat=0.1"}).exit_code, 2);
  EXPECT_EQ(Flaky({"plan"}, {{"FLAKY_MAX_RATE", "x"}}).exit_code, 2);
  EXPECT_EQ(Flaky({"plan", "--max_rate=2"}).exit_code, 2);

  ASSERT_EQ(Flaky(With({"hunt", "//t:a_test", "--runs=3"})).exit_code, 0);
  Ended report = Flaky({"report", "--store=" + store_});
  EXPECT_EQ(report.exit_code, 0) << report;
  EXPECT_THAT(report.out, HasSubstr("//t:a_test"));
  EXPECT_EQ(Flaky({"report", "--store=" + store_, "--hunt_idd=x"}).exit_code, 2);
  EXPECT_EQ(Flaky({"report"}, {{"FLAKY_CONFIDENCE", "x"}}).exit_code, 2);
  Ended no_store = Flaky({"report", "--store=" + dir_ + "/none.db"});
  EXPECT_EQ(no_store.exit_code, 1) << no_store;
  EXPECT_THAT(no_store.err, HasSubstr("no store at"));
  Ended no_rows = Flaky({"report", "--store=" + store_, "//t:no_such_test"});
  EXPECT_EQ(no_rows.exit_code, 1) << no_rows;
  EXPECT_THAT(no_rows.err, HasSubstr("no trials to report"));

  // serve stops on Ctrl-C as it is meant to: 0.
  const std::string serving = absl::StrCat(dir_, "/out", runs_ + 1);
  Ended served = Flaky({"serve", "--store=" + store_, "--metrics_address=127.0.0.1:0"},
                       {}, [&] { return absl::StrContains(ReadFile(serving), "Ctrl-C"); });
  EXPECT_EQ(served.exit_code, 0) << served;
  EXPECT_EQ(Flaky({"serve", "--store=" + store_, "--bogus"}).exit_code, 2);
  EXPECT_EQ(Flaky({"serve"}, {{"FLAKY_STORE", ""}, {"FLAKY_HUNT_ID", ""},
                              {"FLAKY_PUSH_INTERVAL", "soon"}})
                .exit_code,
            2);
  EXPECT_EQ(Flaky({"serve", "--store=" + dir_ + "/none.db"}).exit_code, 1);
}

TEST_F(ExitCodesTest, NoCommandUnknownCommandAndHelp) {
  Ended none = Flaky({});
  EXPECT_EQ(none.exit_code, 2) << none;
  EXPECT_THAT(none.err, HasSubstr("no command given"));
  Ended unknown = Flaky({"hunnt", "//t:a_test"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'hunnt'"));
  Ended help = Flaky({"gate", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("--max_rate=0.001"));
}

}  // namespace
}  // namespace flaky::e2e
