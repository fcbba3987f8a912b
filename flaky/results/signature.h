// Failure signatures: a failure message normalised so that the same failure
// seen in different runs groups under one key.
//
//   FailureSignature("fixture_test.cc:25\nunrecognized interpreter ID 60")
//     == FailureSignature("fixture_test.cc:25\nunrecognized interpreter ID 61")
//     == "fixture_test.cc:25 | unrecognized interpreter ID N"
//
// Rules, in order:
// - Lines are trimmed, blank lines dropped, runs of whitespace collapsed to
//   one space; the first kMaxSignatureLines lines are joined with " | ".
// - Absolute paths ("/tmp/x/y.cc", "/root/.cache/.../execroot/z") become
//   "PATH/<base name>": directories differ between sandboxes and machines,
//   the base name usually says which file failed.
// - Hex numbers with 0x ("0x7ffd3a2c") and bare hex runs of 8 or more
//   digits containing a letter become ADDR.
// - Other numbers become N, except a source line right after a file name
//   ("fixture_test.cc:25", "foo.py:7"): it identifies the assertion and is
//   stable within a commit, so two assertions in one file stay apart.
//   Digits inside identifiers ("int64", "run_2") are kept.
// - The result is cut to kMaxSignatureLength bytes (on a UTF-8 boundary).
#ifndef FLAKY_RESULTS_SIGNATURE_H_
#define FLAKY_RESULTS_SIGNATURE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace flaky::results {

// kMaxSignatureLines is how many non-blank lines a signature keeps.
inline constexpr int kMaxSignatureLines = 6;

// kMaxSignatureLength is the longest signature in bytes.
inline constexpr size_t kMaxSignatureLength = 240;

// FailureSignature returns the normalised signature of `message` (see the
// rules above); "" for a message with no visible text. Deterministic and
// thread-safe.
std::string FailureSignature(absl::string_view message);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_SIGNATURE_H_
