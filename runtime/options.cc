#include "runtime/options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace subinterp {

const char* HookPointName(HookPoint point) {
  switch (point) {
    case HookPoint::kThreadStarted:
      return "kThreadStarted";
    case HookPoint::kRunningChecked:
      return "kRunningChecked";
    case HookPoint::kFramePushed:
      return "kFramePushed";
    case HookPoint::kBlocking:
      return "kBlocking";
    case HookPoint::kThreadFinished:
      return "kThreadFinished";
  }
  return "unknown";
}

absl::StatusOr<absl::Duration> ParseSwitchIntervalUs(absl::string_view text,
                                                     absl::string_view source) {
  int64_t us = 0;
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == text.npos;
  if (!digits_only || !absl::SimpleAtoi(text, &us) || us <= 0 ||
      us > 1000 * 1000 * 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, "=\"", text,
        "\" is not a switch interval: give a whole number of microseconds "
        "between 1 and 1000000000 (default 5000)"));
  }
  return absl::Microseconds(us);
}

absl::StatusOr<RuntimeOptions> OptionsFromEnvironment(const EnvLookup& getenv) {
  RuntimeOptions options;
  const char* value = getenv(kSwitchIntervalEnv);
  if (value != nullptr) {
    absl::StatusOr<absl::Duration> interval =
        ParseSwitchIntervalUs(value, kSwitchIntervalEnv);
    if (!interval.ok()) return interval.status();
    options.switch_interval = *interval;
  }
  return options;
}

}  // namespace subinterp
