// The chaos shim's bytes, embedded in the wrapper at build time so that the
// wrapper can drop the library next to any test it runs: inside Bazel's
// sandbox and on remote executors the shim's own output path may not exist.
//
//   absl::string_view so = EmbeddedChaosShim();
//   // write `so` to $TEST_TMPDIR/libflaky_chaos.so, then LD_PRELOAD it
#ifndef FLAKY_STARVE_EMBEDDED_SHIM_H_
#define FLAKY_STARVE_EMBEDDED_SHIM_H_

#include "absl/strings/string_view.h"

namespace flaky::starve {

// EmbeddedChaosShim returns the bytes of libflaky_chaos.so as built with the
// wrapper. Thread-safe (constant data).
absl::string_view EmbeddedChaosShim();

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_EMBEDDED_SHIM_H_
