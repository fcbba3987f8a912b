// Reading Bazel's Build Event Protocol in its JSON form
// (`bazel test --build_event_json_file=F`): the per-run testResult events,
// the per-target testSummary events, and whether the stream finished.
//
//   // After Bazel exited:
//   FLAKY_ASSIGN_OR_RETURN(BepEvents events, ReadBepFile("/tmp/bep.json"));
//   for (const BepTestResult& run : events.test_results) {
//     ... run.label, run.run, run.status, run.test_xml ...
//   }
//   if (events.truncated) ...  // Bazel was killed mid-write
//
//   // While Bazel is still writing, for progress:
//   BepReader reader("/tmp/bep.json");
//   while (bazel_running) {
//     FLAKY_ASSIGN_OR_RETURN(BepEvents fresh, reader.Poll());
//     ...
//   }
//   FLAKY_ASSIGN_OR_RETURN(BepEvents rest, reader.Finish());
//
// Facts of Bazel 4.2.3 this relies on (see testdata/, made by this Bazel):
// one JSON object per line; events arrive in completion order, not run
// order; `run`, `shard` and `attempt` are counted from 1 (an unsharded
// target reports shard 1); 64-bit integers (durations, epoch millis) arrive
// as JSON strings; a killed Bazel leaves a truncated last line.
#ifndef FLAKY_RESULTS_BEP_H_
#define FLAKY_RESULTS_BEP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// BepTestResult is one testResult event: one run (and attempt) of one
// shard of one test target.
struct BepTestResult {
  std::string label;  // "//pkg:target"
  int run = 1;        // 1..N under --runs_per_test
  int shard = 1;      // 1..S; 1 when the target is not sharded
  int attempt = 1;    // 1..A under --flaky_test_attempts
  // Bazel's status name: "PASSED", "FAILED", "TIMEOUT", "INCOMPLETE",
  // "REMOTE_FAILURE", "FAILED_TO_BUILD", "TOOL_HALTED_BEFORE_TESTING",
  // "NO_STATUS" ("" when the event has none).
  std::string status;
  absl::Duration duration = absl::ZeroDuration();
  absl::Time started_at = absl::UnixEpoch();
  // Local paths decoded from the file:// URIs of testActionOutput; "" when
  // the output is missing or not a local file (remote bytestream://).
  std::string test_log;
  std::string test_xml;
  // non_local_outputs names the test.log/test.xml outputs whose URI is not
  // a local file, as "test.xml bytestream://host/blobs/HASH/SIZE": under
  // remote execution Bazel left them in the remote cache.
  std::vector<std::string> non_local_outputs;
  std::string strategy;  // executionInfo.strategy, e.g. "linux-sandbox"
  int line = 0;          // 1-based line of the event in the BEP file
};

// BepTestSummary is one testSummary event: Bazel's verdict for a target
// over all its runs and shards.
struct BepTestSummary {
  std::string label;
  std::string overall_status;  // "PASSED", "FAILED", "FLAKY", "TIMEOUT", ...
  int total_run_count = 0;     // runs x shards (x attempts)
  int run_count = 0;           // --runs_per_test
  int shard_count = 1;
};

// BepEvents is what one read of a BEP file found.
struct BepEvents {
  std::vector<BepTestResult> test_results;  // in file (completion) order
  std::vector<BepTestSummary> test_summaries;
  // build_finished: a buildFinished event was read; exit_code and
  // exit_code_name are Bazel's (e.g. 3, "TESTS_FAILED").
  bool build_finished = false;
  std::optional<int> exit_code;
  std::string exit_code_name;
  // last_message: the event with `lastMessage: true` was read, so the
  // stream is complete.
  bool last_message = false;
  // truncated: the file ended in a partial line (Bazel was killed while
  // writing it); complete events before it are kept. Only Finish() and
  // ReadBepFile() set it.
  bool truncated = false;
};

// OutcomeFromBepStatus maps a testResult status to the outcome of a run
// that has no per-case results: PASSED -> pass, FAILED -> fail, TIMEOUT ->
// timeout, INCOMPLETE -> crashed, everything else (REMOTE_FAILURE,
// FAILED_TO_BUILD, TOOL_HALTED_BEFORE_TESTING, NO_STATUS, unknown) ->
// error.
Outcome OutcomeFromBepStatus(absl::string_view status);

// FileUriToPath decodes a file:// URI ("file:///a/b%20c") into a local path
// ("/a/b c"). InvalidArgument for another scheme or a bad %-escape.
absl::StatusOr<std::string> FileUriToPath(absl::string_view uri);

// ParseBep parses the whole contents of a BEP JSON file. A last line
// without a newline that is not valid JSON is a truncation (kept events,
// `truncated` set); a malformed complete line is InvalidArgument naming its
// line number; an empty input is a valid, empty, unfinished stream.
// `source` names the input in error messages.
absl::StatusOr<BepEvents> ParseBep(absl::string_view contents,
                                   absl::string_view source = "BEP");

// ReadBepFile reads and parses a BEP JSON file as ParseBep does. NotFound
// when the file does not exist, Unavailable when it cannot be read.
absl::StatusOr<BepEvents> ReadBepFile(const std::string& path);

// BepReader reads a BEP JSON file incrementally while Bazel writes it.
// Not thread-safe: use one reader from one thread.
class BepReader {
 public:
  // BepReader reads `path`, which may not exist yet (Bazel creates it
  // after startup).
  explicit BepReader(std::string path);

  // Poll returns the events of the complete lines appended since the last
  // call (none when the file does not exist yet); a partial last line is
  // left for the next call. InvalidArgument for a malformed complete line
  // (naming the line number), Unavailable when the file cannot be read,
  // FailedPrecondition when it shrank (another invocation rewrote it).
  absl::StatusOr<BepEvents> Poll();

  // Finish is Poll for a file that will not grow any more (Bazel exited):
  // it also consumes a partial last line, as a truncation when it is not
  // valid JSON. NotFound when the file was never created.
  absl::StatusOr<BepEvents> Finish();

  // last_message is true once the stream's final event has been read.
  bool last_message() const { return last_message_; }

  // lines_read is the number of complete lines consumed so far.
  int lines_read() const { return line_; }

 private:
  absl::StatusOr<BepEvents> Read(bool final);

  std::string path_;
  uint64_t offset_ = 0;  // bytes consumed: always just after a '\n'
  int line_ = 0;
  bool last_message_ = false;
};

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_BEP_H_
