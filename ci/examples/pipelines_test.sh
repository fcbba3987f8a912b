#!/usr/bin/env bash
# Checks that the example pipelines call only what exists: every ci/ script
# they (and the scripts they call) name is in the checkout and executable,
# every flag they give ci/merge_gate is a flag of the merge gate, every
# Bazel label those scripts run is declared, and every `flaky` subcommand is
# a row of the CLI's table once that table exists.
# Usage (Bazel): sh_test with the pipelines and scripts as data.
set -euo pipefail

runfiles="$TEST_SRCDIR/$TEST_WORKSPACE"
# The data files are symlinks into the checkout; ci/ itself is no Bazel
# package, so its scripts are found next to them.
checkout=$(cd "$(dirname "$(readlink -f "$runfiles/ci/examples/github-actions.yml")")/../.." && pwd)
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

pipelines=(ci/examples/github-actions.yml ci/examples/buildkite.yml)
scripts=()

for pipeline in "${pipelines[@]}"; do
  file="$checkout/$pipeline"
  [ -f "$file" ] || { fail "$pipeline is missing"; continue; }
  # YAML forbids tabs in indentation; a stray one breaks the whole file.
  if grep -n $'\t' "$file" >&2; then fail "$pipeline contains a tab"; fi
  for script in $(grep -vE '^[[:space:]]*#' "$file" |
                    grep -oE '(^|[^A-Za-z0-9_./-])ci/[A-Za-z0-9_./-]+' |
                    sed -E 's#^[^c]*##' | sort -u); do
    scripts+=("$script")
  done
  # Each flag given to ci/merge_gate (on its line and the lines it continues
  # onto with a backslash) must be one of merge_gate_main's.
  invocations=$(awk '/ci\/merge_gate/ { on = 1 }
                     on { print; if ($0 !~ /\\$/) on = 0 }' "$file")
  [ -n "$invocations" ] || continue
  for flag in $(echo "$invocations" | sed -E 's/ -- .*//' |
                  grep -oE -- '--[a-z_]+' | sort -u); do
    name=${flag#--}
    grep -qE "^ABSL_FLAG\([^,]+, $name," "$checkout/flaky/merge_gate/merge_gate_main.cc" ||
      fail "$pipeline passes $flag to ci/merge_gate, which has no such flag"
  done
done

# Scripts the pipelines call may call more scripts.
checked=()
while [ ${#scripts[@]} -gt 0 ]; do
  script=${scripts[0]}
  scripts=("${scripts[@]:1}")
  case " ${checked[*]-} " in *" $script "*) continue ;; esac
  checked+=("$script")
  if [ ! -f "$checkout/$script" ] || [ ! -x "$checkout/$script" ]; then
    fail "$script is referenced but is not an executable file in the checkout"
    continue
  fi
  for next in $(grep -v '^#' "$checkout/$script" |
                  grep -oE '(^|[^A-Za-z0-9_./-])ci/[A-Za-z0-9_./-]+' |
                  sed -E 's#^[^c]*##' | sort -u); do
    scripts+=("$next")
  done
  # Labels the script builds or runs must be declared in their BUILD file.
  for label in $(grep -v '^#' "$checkout/$script" |
                   grep -oE 'bazel (build|run) //[A-Za-z0-9_/]+(:[A-Za-z0-9_]+)?' |
                   sed -E 's#^bazel (build|run) ##' | sort -u); do
    package=${label#//}
    package=${package%%:*}
    name=${label##*[:/]}
    build="$checkout/$package/BUILD.bazel"
    [ -f "$build" ] || build="$checkout/$package/BUILD"
    if [ "$label" = "//flaky" ] && [ ! -f "$build" ]; then
      echo "note: $script runs //flaky, whose BUILD file is not in the checkout yet" >&2
      continue
    fi
    grep -qE "name = \"$name\"" "$build" 2>/dev/null ||
      fail "$script runs $label, which $package/BUILD.bazel does not declare"
  done
  # `bazel run //flaky -- SUBCOMMAND` must name a row of the CLI's table.
  for subcommand in $(grep -v '^#' "$checkout/$script" |
                        grep -oE 'bazel run //flaky(:flaky)? -- [a-z-]+' |
                        awk '{print $NF}' | sort -u); do
    if [ ! -f "$checkout/flaky/flaky_main.cc" ]; then
      echo "note: $script calls 'flaky $subcommand'; flaky/flaky_main.cc (the table) is not in the checkout yet" >&2
      continue
    fi
    grep -qE "\{\"$subcommand\"," "$checkout/flaky/flaky_main.cc" "$checkout"/flaky/cli/*.cc ||
      fail "$script calls 'flaky $subcommand', which is not a row of the CLI's table"
  done
done

for required in ci/test ci/merge_gate ci/examples/nightly_soak; do
  case " ${checked[*]-} " in
    *" $required "*) ;;
    *) fail "no pipeline calls $required" ;;
  esac
done

if [ $failures -ne 0 ]; then
  echo "pipelines_test: $failures problem(s)" >&2
  exit 1
fi
echo "pipelines_test: ${#pipelines[@]} pipelines, ${#checked[@]} scripts checked: ${checked[*]}"
