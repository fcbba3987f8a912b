// A Launcher for tests that answers commands from a script instead of
// running them, and records what it was asked to run.
//
//   ScriptedLauncher launcher([](const std::string& args,
//                                const std::string& query) {
//     if (args == "git rev-parse --is-inside-work-tree") return Exit(0, "true\n");
//     return Exit(99, "", "unexpected: " + args);
//   });
//   ... FindAffectedTests(options, launcher) ...
//   EXPECT_THAT(launcher.commands, Contains("git rev-parse ..."));
#ifndef FLAKY_MERGE_GATE_SCRIPTED_LAUNCHER_H_
#define FLAKY_MERGE_GATE_SCRIPTED_LAUNCHER_H_

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "flaky/merge_gate/launcher.h"

namespace flaky::merge_gate {

// Exit returns a ProcessResult with the given exit code and output.
inline ProcessResult Exit(int code, std::string out = "", std::string err = "") {
  ProcessResult result;
  result.exit_code = code;
  result.stdout_text = std::move(out);
  result.stderr_text = std::move(err);
  return result;
}

// ScriptedLauncher passes each command to a handler. Not thread-safe.
class ScriptedLauncher : public Launcher {
 public:
  // Handler gets the argv joined with spaces and, for a command with a
  // --query_file=PATH argument (bazel query), the text of that file.
  using Handler = std::function<ProcessResult(const std::string& args,
                                              const std::string& query)>;

  explicit ScriptedLauncher(Handler handler) : handler_(std::move(handler)) {}

  absl::StatusOr<ProcessResult> Run(const Command& command) override {
    std::string query;
    for (const std::string& arg : command.argv) {
      if (absl::StartsWith(arg, "--query_file=")) {
        std::ifstream in(arg.substr(std::strlen("--query_file=")));
        std::stringstream text;
        text << in.rdbuf();
        query = text.str();
        queries.push_back(query);
      }
    }
    commands.push_back(absl::StrJoin(command.argv, " "));
    argvs.push_back(command.argv);
    working_dirs.push_back(command.working_dir);
    captured.push_back(command.capture_output);
    return handler_(commands.back(), query);
  }

  // Every command run, in order: joined, as argv, its working directory and
  // whether its output was captured.
  std::vector<std::string> commands;
  std::vector<std::vector<std::string>> argvs;
  std::vector<std::string> working_dirs;
  std::vector<bool> captured;
  // The text of every bazel query, in order.
  std::vector<std::string> queries;

 private:
  Handler handler_;
};

}  // namespace flaky::merge_gate

#endif  // FLAKY_MERGE_GATE_SCRIPTED_LAUNCHER_H_
