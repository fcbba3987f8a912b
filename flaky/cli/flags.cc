#include "flaky/cli/flags.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace flaky::cli {
namespace {

// EditDistance is Levenshtein's, for "did you mean" on a typo'd flag.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownFlagMessage(absl::string_view name,
                               const std::vector<std::string>& known) {
  std::string closest;
  size_t best = 3;  // further than two edits is not a typo
  for (const std::string& candidate : known) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best) {
      best = distance;
      closest = candidate;
    }
  }
  return absl::StrCat("unknown flag --", name,
                      closest.empty() ? "" : absl::StrCat(" (did you mean --", closest, "?)"));
}

absl::CommandLineFlag* KnownFlag(absl::string_view name,
                                 const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), name) == known.end()) return nullptr;
  return absl::FindCommandLineFlag(name);
}

}  // namespace

ParsedFlags ParseFlags(const std::vector<std::string>& args,
                       const std::vector<std::string>& known) {
  ParsedFlags parsed;
  auto fail = [&parsed](std::string message) {
    if (parsed.status.ok()) parsed.status = absl::InvalidArgumentError(message);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(args[i]);
      continue;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    const bool has_value = equals != absl::string_view::npos;
    if (name == "help" || name == "helpfull" || name == "h") {
      parsed.help = true;
      continue;
    }
    absl::CommandLineFlag* flag = KnownFlag(name, known);
    std::string value = has_value ? std::string(arg.substr(equals + 1)) : "";
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated = KnownFlag(name.substr(2), known);
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        value = "false";
      }
    } else if (flag != nullptr && !has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        fail(absl::StrCat("flag --", name, " needs a value: --", name, "=VALUE"));
        continue;
      }
    }
    if (flag == nullptr) {
      fail(UnknownFlagMessage(name, known));
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      fail(absl::StrCat("--", flag->Name(), "=", value, " is not a valid --",
                        flag->Name(), ": ", error));
    }
  }
  return parsed;
}

std::string FlagEnvironmentName(absl::string_view flag) {
  return absl::StrCat("FLAKY_", absl::AsciiStrToUpper(flag));
}

std::vector<std::string> FlagsDefinedIn(absl::string_view file_suffix) {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), file_suffix)) {
      names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status ApplyEnvironmentTwins(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv) {
  for (const std::string& name : flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      return absl::NotFoundError(absl::StrCat("no flag --", name));
    }
    const std::string variable = FlagEnvironmentName(name);
    const char* value = getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          variable, "=", value, " is not a valid --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::string FlagsHelp(const std::vector<std::string>& flags) {
  std::string text;
  for (const std::string& name : flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    absl::StrAppend(&text, "  --", name, "=", flag->DefaultValue(), "\n      ",
                    flag->Help(), "\n");
  }
  return text;
}

}  // namespace flaky::cli
