// Reading /proc: a process's files there vanish when it exits, and a read
// of one that vanished after it was opened fails with ESRCH, which
// libstdc++'s file streams turn into an exception (whatever the stream's
// exception mask). These reads go through read(2) and say "gone" instead.
//
//   std::optional<std::string> cmdline = ReadProcFile("/proc/4242/cmdline");
//   if (!cmdline) ...  // no such process (any more)
#ifndef BASE_PROC_FILE_H_
#define BASE_PROC_FILE_H_

#include <optional>
#include <string>

namespace flaky {

// ReadProcFile returns the whole contents of `path`, or nullopt when it
// cannot be opened or read (the process is gone). Thread-safe.
std::optional<std::string> ReadProcFile(const std::string& path);

}  // namespace flaky

#endif  // BASE_PROC_FILE_H_
