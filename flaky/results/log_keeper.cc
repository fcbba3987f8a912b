#include "flaky/results/log_keeper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace flaky::results {
namespace {

std::string Sanitise(absl::string_view text) {
  std::string out;
  for (char c : text) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.';
    out += safe ? c : '_';
  }
  // Leading underscores of "//pkg:name" carry no information.
  size_t start = out.find_first_not_of('_');
  out = start == std::string::npos ? "_" : out.substr(start);
  if (out == "." || out == "..") out = "_";
  return out;
}

absl::Status MakeDirs(const std::string& dir) {
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(dir, '/')) {
    prefix += std::string(part);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0755) != 0 &&
        errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat(
          "cannot create the kept-logs directory ", prefix, ": ",
          std::strerror(errno)));
    }
    prefix += '/';
  }
  return absl::OkStatus();
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

std::string KeptLogName(const Trial& trial) {
  return absl::StrCat(Sanitise(trial.target), "/", Sanitise(trial.hunt_id),
                      "-r", trial.run, "-s", trial.shard, "-a", trial.attempt,
                      "-i", trial.repetition, ".log");
}

absl::StatusOr<std::string> ReadLogCapped(const std::string& path, int64_t max_bytes) {
  Fd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("log ", path, " does not exist"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot open log ", path, ": ", std::strerror(errno)));
  }
  struct stat info;
  if (fstat(in.get(), &info) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat log ", path, ": ", std::strerror(errno)));
  }
  const int64_t size = static_cast<int64_t>(info.st_size);
  // Reads `length` bytes at `offset` (fewer at the end of the file).
  auto read_at = [&](int64_t offset, int64_t length) -> absl::StatusOr<std::string> {
    std::string text(static_cast<size_t>(length), '\0');
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = pread(in.get(), text.data() + done, text.size() - done,
                              static_cast<off_t>(offset + static_cast<int64_t>(done)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::UnavailableError(
            absl::StrCat("cannot read log ", path, ": ", std::strerror(errno)));
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    text.resize(done);
    return text;
  };
  if (size <= max_bytes) {
    // Read to the end, not to `size`: a log may still grow while we read.
    std::string text;
    for (int64_t offset = 0;; offset += 1 << 16) {
      FLAKY_ASSIGN_OR_RETURN(std::string chunk, read_at(offset, 1 << 16));
      text += chunk;
      if (chunk.size() < (1u << 16) || static_cast<int64_t>(text.size()) > max_bytes) break;
    }
    return text;
  }
  const int64_t half = max_bytes / 2;
  FLAKY_ASSIGN_OR_RETURN(std::string head, read_at(0, half));
  FLAKY_ASSIGN_OR_RETURN(std::string tail, read_at(size - half, half));
  return absl::StrCat(head, "\n[flaky: ", size - 2 * half, " bytes cut here: this log has ",
                      size, " bytes, more than the ", max_bytes,
                      " flaky reads and keeps (--max_log_bytes)]\n", tail);
}

absl::StatusOr<std::string> KeepLog(const std::string& source,
                                    const std::string& logs_dir,
                                    absl::string_view name, int64_t max_bytes) {
  if (name.empty() || name[0] == '/' ||
      absl::StrContains(absl::StrCat("/", name, "/"), "/../")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kept log name \"", name, "\" must be a relative path without .."));
  }
  absl::StatusOr<std::string> read = ReadLogCapped(source, max_bytes);
  if (absl::IsNotFound(read.status())) {
    return absl::NotFoundError(absl::StrCat("log ", source, " to keep does not exist"));
  }
  FLAKY_ASSIGN_OR_RETURN(std::string text, std::move(read));
  const std::string target = absl::StrCat(logs_dir, "/", name);
  const std::string dir = target.substr(0, target.rfind('/'));
  if (absl::Status made = MakeDirs(dir); !made.ok()) return made;
  const std::string temporary = absl::StrCat(target, ".tmp.", getpid());
  Fd out(open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              0644));
  if (out.get() < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create kept log ", temporary, ": ", std::strerror(errno)));
  }
  for (size_t done = 0; done < text.size();) {
    const ssize_t w = write(out.get(), text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int error = errno;
      unlink(temporary.c_str());
      return absl::UnavailableError(absl::StrCat(
          "cannot write kept log ", temporary, ": ", std::strerror(error)));
    }
    done += static_cast<size_t>(w);
  }
  if (close(out.release()) != 0 || rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::UnavailableError(absl::StrCat(
        "cannot finish kept log ", target, ": ", std::strerror(error)));
  }
  if (target[0] == '/') return target;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return target;
  return absl::StrCat(cwd, "/", target);
}

}  // namespace flaky::results
