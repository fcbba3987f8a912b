#include "flaky/runner/direct.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "pugixml.hpp"

namespace flaky::runner {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool IsExecutableFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

absl::Status MakeDirectories(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (!IsDirectory(prefix) && mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("cannot create directory ", prefix,
                                                 ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// Bazel's default timeouts: by `timeout` when given, else by `size`.
absl::Duration TimeoutOf(absl::string_view timeout, absl::string_view size) {
  if (timeout == "short") return absl::Seconds(60);
  if (timeout == "moderate") return absl::Seconds(300);
  if (timeout == "long") return absl::Seconds(900);
  if (timeout == "eternal") return absl::Seconds(3600);
  if (size == "small") return absl::Seconds(60);
  if (size == "large") return absl::Seconds(900);
  if (size == "enormous") return absl::Seconds(3600);
  return absl::Seconds(300);
}

// "//pkg/sub:name" -> "pkg/sub/name"; nullopt for labels of other
// repositories (their binaries live elsewhere in bazel-bin).
std::optional<std::string> BinaryPath(absl::string_view label) {
  if (!absl::StartsWith(label, "//")) return std::nullopt;
  const size_t colon = label.find(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  const absl::string_view package = label.substr(2, colon - 2);
  const absl::string_view name = label.substr(colon + 1);
  return package.empty() ? std::string(name) : absl::StrCat(package, "/", name);
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// One run in flight.
struct Running {
  const DirectTest* test = nullptr;
  int run = 0;
  DirectRunPaths paths;
  std::unique_ptr<Process> process;
  absl::Time started;
  bool timed_out = false;
};

}  // namespace

std::string WorkspaceName(const std::string& workspace_dir) {
  for (const char* file : {"/WORKSPACE", "/WORKSPACE.bazel"}) {
    std::ifstream in(workspace_dir + file);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    // workspace(name = "x"): the first call, with either quote.
    const size_t call = content.find("workspace(");
    if (call == std::string::npos) return "__main__";
    const size_t name = content.find("name", call);
    const size_t quote = content.find_first_of("\"'", name);
    if (name == std::string::npos || quote == std::string::npos) return "__main__";
    const size_t end = content.find(content[quote], quote + 1);
    if (end == std::string::npos) return "__main__";
    return content.substr(quote + 1, end - quote - 1);
  }
  return "__main__";
}

absl::StatusOr<std::vector<DirectTest>> ParseDirectTests(
    absl::string_view query_xml, absl::string_view bazel_bin,
    absl::string_view workspace_name) {
  pugi::xml_document doc;
  if (!doc.load_buffer(query_xml.data(), query_xml.size())) {
    return absl::UnknownError("bazel query --output=xml printed no XML");
  }
  const pugi::xml_node query = doc.child("query");
  if (!query) return absl::UnknownError("bazel query's XML has no <query>");
  std::vector<DirectTest> tests;
  for (const pugi::xml_node& rule : query.children("rule")) {
    DirectTest test;
    test.label = rule.attribute("name").value();
    const std::string kind = rule.attribute("class").value();
    auto cannot = [&](absl::string_view why) {
      return absl::FailedPreconditionError(
          absl::StrCat(test.label, " cannot run directly: ", why));
    };
    // What Bazel would not run either: the user's input is wrong.
    auto broken = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(test.label, ": ", why));
    };
    if (!absl::EndsWith(kind, "_test")) {
      return broken(absl::StrCat("it is a ", kind, ", not a test"));
    }
    std::string timeout;
    for (const pugi::xml_node& attribute : rule.children()) {
      const std::string name = attribute.attribute("name").value();
      const std::string element = attribute.name();
      if (name == "size") test.size = attribute.attribute("value").value();
      if (name == "timeout") timeout = attribute.attribute("value").value();
      if (name == "shard_count" && std::string(attribute.attribute("value").value()) != "1") {
        return cannot("it is sharded (shard_count), which direct runs do not split");
      }
      if (name == "args" && element == "list") {
        for (const pugi::xml_node& arg : attribute.children("string")) {
          test.args.push_back(arg.attribute("value").value());
        }
      }
      if (name == "env" && element == "dict") {
        for (const pugi::xml_node& pair : attribute.children("pair")) {
          pugi::xml_node key = pair.child("string");
          pugi::xml_node value = key.next_sibling("string");
          test.env.emplace_back(key.attribute("value").value(),
                                value.attribute("value").value());
        }
      }
    }
    for (const std::string& arg : test.args) {
      if (absl::StrContains(arg, "$(")) {
        return cannot(absl::StrCat("its args use Bazel's make variables (", arg, ")"));
      }
    }
    for (const auto& [key, value] : test.env) {
      if (absl::StrContains(value, "$(")) {
        return cannot(absl::StrCat("its env uses Bazel's make variables (", key, "=", value, ")"));
      }
    }
    test.timeout = TimeoutOf(timeout, test.size);
    const std::optional<std::string> path = BinaryPath(test.label);
    if (!path.has_value()) return cannot("it is not in the main repository");
    test.executable = absl::StrCat(bazel_bin, "/", *path);
    test.runfiles_dir = test.executable + ".runfiles";
    test.workspace_name = std::string(workspace_name);
    if (!IsExecutableFile(test.executable)) {
      return broken(absl::StrCat("its binary ", test.executable,
                                 " is missing from bazel-bin (not built with this "
                                 "configuration?)"));
    }
    if (!IsDirectory(test.runfiles_dir)) {
      return broken(absl::StrCat("its runfiles tree ", test.runfiles_dir,
                                 " is missing (built with --nobuild_runfile_links?)"));
    }
    // Bazel starts a test by its path in its own runfiles tree, and scripts
    // find their data next to $0: start it the same way where the tree has
    // the link (it always does after `bazel build`).
    const std::string in_runfiles =
        absl::StrCat(test.runfiles_dir, "/", workspace_name, "/", *path);
    if (IsExecutableFile(in_runfiles)) test.executable = in_runfiles;
    tests.push_back(std::move(test));
  }
  if (tests.empty()) return absl::InvalidArgumentError("bazel query listed no test rules");
  return tests;
}

std::vector<std::pair<std::string, std::string>> TestEnvFromFlags(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv) {
  std::vector<std::pair<std::string, std::string>> env;
  auto set = [&env](std::string key, std::string value) {
    for (auto& [k, v] : env) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    env.emplace_back(std::move(key), std::move(value));
  };
  for (const std::string& flag : flags) {
    absl::string_view rest = flag;
    if (!absl::ConsumePrefix(&rest, "--test_env=")) continue;
    const size_t equals = rest.find('=');
    if (equals != absl::string_view::npos) {
      set(std::string(rest.substr(0, equals)), std::string(rest.substr(equals + 1)));
    } else if (const char* value = getenv(std::string(rest).c_str()); value != nullptr) {
      set(std::string(rest), value);
    }
  }
  return env;
}

DirectRunPaths RunPaths(const std::string& work_dir, const DirectTest& test, int run) {
  std::string name = BinaryPath(test.label).value_or(test.label);
  std::replace(name.begin(), name.end(), '/', '_');
  DirectRunPaths paths;
  paths.dir = absl::StrCat(work_dir, "/", name, "/run_", run);
  paths.test_log = paths.dir + "/test.log";
  paths.test_xml = paths.dir + "/test.xml";
  paths.tmpdir = paths.dir + "/tmp";
  paths.undeclared_outputs = paths.dir + "/test.outputs";
  paths.premature_exit_file = paths.dir + "/test.exited_prematurely";
  paths.infrastructure_failure_file = paths.dir + "/test.infrastructure_failure";
  paths.warnings_file = paths.dir + "/test.warnings";
  return paths;
}

std::vector<std::string> DirectEnvironment(
    const DirectTest& test, int run, const DirectRunPaths& paths,
    const std::vector<std::pair<std::string, std::string>>& test_env) {
  std::vector<std::pair<std::string, std::string>> env = {
      // Bazel's --incompatible_strict_action_env PATH.
      {"PATH", "/bin:/usr/bin:/usr/local/bin"},
      {"HOME", paths.tmpdir},
      {"TZ", "UTC"},
      {"TEST_SRCDIR", test.runfiles_dir},
      {"RUNFILES_DIR", test.runfiles_dir},
      {"RUNFILES_MANIFEST_FILE", test.runfiles_dir + "/MANIFEST"},
      {"TEST_WORKSPACE", test.workspace_name},
      {"TEST_TMPDIR", paths.tmpdir},
      {"XML_OUTPUT_FILE", paths.test_xml},
      {"TEST_UNDECLARED_OUTPUTS_DIR", paths.undeclared_outputs},
      {"TEST_PREMATURE_EXIT_FILE", paths.premature_exit_file},
      {"TEST_INFRASTRUCTURE_FAILURE_FILE", paths.infrastructure_failure_file},
      {"TEST_WARNINGS_OUTPUT_FILE", paths.warnings_file},
      {"TEST_RANDOM_SEED", absl::StrCat(run)},
      {"TEST_TARGET", test.label},
      {"TEST_BINARY", test.executable},
      {"TEST_SIZE", test.size},
      {"TEST_TIMEOUT", absl::StrCat(absl::ToInt64Seconds(test.timeout))},
  };
  auto set = [&env](const std::string& key, const std::string& value) {
    for (auto& [k, v] : env) {
      if (k == key) {
        v = value;
        return;
      }
    }
    env.emplace_back(key, value);
  };
  // As in Bazel: the target's env, then --test_env, override the defaults.
  for (const auto& [key, value] : test.env) set(key, value);
  for (const auto& [key, value] : test_env) set(key, value);
  std::vector<std::string> entries;
  entries.reserve(env.size());
  for (const auto& [key, value] : env) entries.push_back(absl::StrCat(key, "=", value));
  return entries;
}

std::string FallbackXml(const DirectTest& test, int exit_code, absl::Duration duration) {
  const std::string name = XmlEscape(BinaryPath(test.label).value_or(test.label));
  const int64_t seconds = absl::ToInt64Seconds(duration);
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", name,
      "\" tests=\"1\" failures=\"0\" errors=\"", exit_code == 0 ? 0 : 1, "\">\n",
      "    <testcase name=\"", name, "\" status=\"run\" duration=\"", seconds,
      "\" time=\"", seconds, "\">",
      exit_code == 0 ? ""
                     : absl::StrCat("<error message=\"exited with error code ", exit_code,
                                    "\"></error>"),
      "</testcase>\n  </testsuite>\n</testsuites>\n");
}

absl::StatusOr<bool> RunDirectRound(
    const DirectRoundOptions& options, Launcher& launcher, Clock& clock,
    const std::atomic<bool>& stop, const std::atomic<bool>* hurry,
    absl::Duration stop_grace,
    const std::function<absl::Status(const results::BepTestResult&)>& on_result) {
  // Run order: run 1 of every test, then run 2, ...: every test makes
  // progress from the start, as under --runs_per_test.
  std::deque<std::pair<const DirectTest*, int>> queue;
  for (int run = 1; run <= options.runs; ++run) {
    for (const DirectTest& test : options.tests) queue.emplace_back(&test, run);
  }
  std::vector<Running> running;
  const int jobs = std::max(1, options.jobs);
  auto stop_all = [&] {
    for (Running& r : running) {
      StopProcess(*r.process, stop_grace, clock, hurry);
    }
    running.clear();
  };
  while (!queue.empty() || !running.empty()) {
    if (stop.load()) {
      stop_all();
      return true;
    }
    while (static_cast<int>(running.size()) < jobs && !queue.empty()) {
      const auto [test, run] = queue.front();
      queue.pop_front();
      Running r;
      r.test = test;
      r.run = run;
      r.paths = RunPaths(options.work_dir, *test, run);
      // A fresh directory per run: nothing of an earlier round's run with
      // the same number (an old test.xml) may be read as this one's.
      for (const std::string& stale :
           {r.paths.test_xml, r.paths.premature_exit_file, r.paths.test_log}) {
        unlink(stale.c_str());
      }
      for (const std::string& dir : {r.paths.tmpdir, r.paths.undeclared_outputs}) {
        if (absl::Status made = MakeDirectories(dir); !made.ok()) {
          stop_all();
          return made;
        }
      }
      std::vector<std::string> argv = options.wrapper;
      argv.push_back(test->executable);
      argv.insert(argv.end(), test->args.begin(), test->args.end());
      argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
      absl::StatusOr<std::unique_ptr<Process>> process = launcher.Start(
          {.argv = argv,
           .working_dir = absl::StrCat(test->runfiles_dir, "/", test->workspace_name),
           .stdout_path = r.paths.test_log,
           .stderr_path = r.paths.test_log,
           .environment = DirectEnvironment(*test, run, r.paths, options.test_env)});
      if (!process.ok()) {
        stop_all();
        return absl::UnavailableError(absl::StrCat("cannot start run ", run, " of ",
                                                   test->label, ": ",
                                                   process.status().message()));
      }
      r.process = *std::move(process);
      r.started = clock.Now();
      running.push_back(std::move(r));
    }
    bool progressed = false;
    for (size_t i = 0; i < running.size();) {
      Running& r = running[i];
      std::optional<ExitStatus> status = r.process->Poll();
      if (!status.has_value() && clock.Now() - r.started > r.test->timeout) {
        r.timed_out = true;
        r.process->Kill();
        status = r.process->Wait();
      }
      if (!status.has_value()) {
        ++i;
        continue;
      }
      progressed = true;
      const absl::Duration duration = clock.Now() - r.started;
      results::BepTestResult result;
      result.label = r.test->label;
      result.run = r.run;
      result.status = r.timed_out ? "TIMEOUT" : status->Exited(0) ? "PASSED" : "FAILED";
      result.duration = duration;
      result.started_at = r.started;
      result.test_log = r.paths.test_log;
      result.strategy = "direct";
      if (access(r.paths.test_xml.c_str(), F_OK) != 0 && !r.timed_out) {
        const int code = status->signal != 0 ? 128 + status->signal : status->code;
        std::ofstream(r.paths.test_xml) << FallbackXml(*r.test, code, duration);
      }
      if (access(r.paths.test_xml.c_str(), F_OK) == 0) result.test_xml = r.paths.test_xml;
      running.erase(running.begin() + static_cast<long>(i));
      if (absl::Status handled = on_result(result); !handled.ok()) {
        stop_all();
        return handled;
      }
    }
    if (!progressed) {
      // A test of a few ms would otherwise wait most of a poll interval for
      // its slot to be refilled; the stop flag and timeouts are checked at
      // least that often.
      std::vector<Process*> processes;
      for (Running& r : running) processes.push_back(r.process.get());
      SleepUntilAnyEnds(processes, clock, options.poll_interval);
    }
  }
  return false;
}

}  // namespace flaky::runner
