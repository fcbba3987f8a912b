#include "flaky/metrics/textfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/metrics/boundary.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace flaky::metrics {

namespace {

absl::Status OsError(absl::string_view action, absl::string_view path,
                     int error) {
  return absl::UnavailableError(absl::StrCat(
      "cannot ", action, " ", path, ": ", std::strerror(error),
      " (is the directory there and writable? check --textfile)"));
}

}  // namespace

absl::StatusOr<std::string> RenderText(
    const prometheus::Collectable& collectable) {
  std::string text;
  FLAKY_RETURN_IF_ERROR(CallPrometheus("rendering metrics", [&] {
    text = prometheus::TextSerializer().Serialize(collectable.Collect());
  }));
  return text;
}

absl::Status WriteTextfile(absl::string_view path,
                           const prometheus::Collectable& collectable) {
  if (!absl::EndsWith(path, ".prom")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "textfile path \"", path,
        "\" must end in .prom (node_exporter's textfile collector reads only "
        "those)"));
  }
  FLAKY_ASSIGN_OR_RETURN(const std::string text, RenderText(collectable));

  const std::string target(path);
  const size_t slash = target.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : target.substr(0, slash + 1);
  const std::string base =
      slash == std::string::npos ? target : target.substr(slash + 1);
  std::string temp = absl::StrCat(dir, slash == std::string::npos ? "/" : "",
                                  ".", base, ".tmp.XXXXXX");
  std::vector<char> temp_name(temp.begin(), temp.end());
  temp_name.push_back('\0');
  const int fd = mkstemp(temp_name.data());
  if (fd < 0) return OsError("create a temporary file in", dir, errno);
  temp = temp_name.data();

  auto fail = [&](absl::string_view action, int error) {
    close(fd);
    unlink(temp.c_str());
    return OsError(action, temp, error);
  };
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    written += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return fail("chmod", errno);
  if (fsync(fd) != 0) return fail("fsync", errno);
  if (close(fd) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return OsError("close", temp, error);
  }
  if (rename(temp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return OsError(absl::StrCat("rename ", temp, " to"), target, error);
  }
  // The rename is durable only once the directory entry is on disk.
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace flaky::metrics
