// The small script language that Runtime::RunString evaluates: one
// statement per line, `#` starts a comment.
//
//   print "spam"          # writes spam and a newline to the runtime's stdout
//   sleep 10ms            # sleeps with the GIL released (absl duration)
//   recv 3                # blocks, GIL released, until channel 3 has a message
//   send 3 "done"         # queues a message on channel 3
//   spin 1000             # 1000 eval-loop steps, each with an eval-breaker check
//   raise ValueError "x"  # fails the script with ValueError: x
//
//   absl::StatusOr<Program> program = ParseScript(source);
#ifndef SUBINTERP_RUNTIME_SCRIPT_H_
#define SUBINTERP_RUNTIME_SCRIPT_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace subinterp {

// OpKind is a statement of the language.
enum class OpKind { kPrint, kSleep, kRecv, kSend, kSpin, kRaise };

// Op is one parsed statement. Which fields matter depends on `kind`:
// kPrint: text; kSleep: duration; kRecv: number (channel); kSend: number
// and text; kSpin: number (steps); kRaise: name and text.
struct Op {
  OpKind kind = OpKind::kPrint;
  int line = 0;
  int64_t number = 0;
  absl::Duration duration;
  std::string name;
  std::string text;
};

// Program is a parsed script.
struct Program {
  std::vector<Op> ops;
};

// ParseScript parses `source`. On bad input returns InvalidArgument
// "SyntaxError: line L, column C: <what was expected>" (1-based, column of
// the offending token); never crashes on any input. Thread-safe.
absl::StatusOr<Program> ParseScript(absl::string_view source);

}  // namespace subinterp

#endif  // SUBINTERP_RUNTIME_SCRIPT_H_
