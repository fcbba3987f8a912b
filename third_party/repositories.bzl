"""Wires Debian's packages into the workspace as Bazel repositories, offline.

A workspace that uses flaky (directly or as an external repository) calls

    load("@flaky//third_party:repositories.bzl", "flaky_dependencies")
    flaky_dependencies()

Nothing here downloads: every repository is a local directory that a Debian
package installed (see ci/bootstrap for the package list).
"""

def _debian_rules_cc_impl(repository_ctx):
    # Debian's rules_cc 0.0.4 loads `use_cpp_toolchain` from @bazel_tools,
    # which Bazel 4.2.3 does not have yet. We copy the tree and replace the
    # call with the toolchain type label it evaluates to on newer Bazels.
    source = repository_ctx.path(repository_ctx.attr.path)
    if not source.exists:
        fail("rules_cc not found at %s: install Debian's bazel-rules-cc (ci/bootstrap does)" % source)
    result = repository_ctx.execute(["cp", "-r", str(source) + "/.", "."])
    if result.return_code != 0:
        fail("copying rules_cc failed: " + result.stderr)
    for bzl in repository_ctx.attr.patched_files:
        text = repository_ctx.read(bzl)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        repository_ctx.file(bzl, text, legacy_utf8 = False)

    # The copied WORKSPACE declares downloads for rules_cc's own development;
    # as an external repository it needs none of them.
    repository_ctx.file("WORKSPACE", 'workspace(name = "rules_cc")\n')

    # These packages load @bazel_skylib only for bzl_library targets that
    # nothing here builds; keep the packages but drop the load.
    for build in ["BUILD", "cc/private/rules_impl/BUILD"]:
        repository_ctx.file(build, 'package(default_visibility = ["//visibility:public"])\n\nexports_files(glob(["*.bzl"]))\n')

_debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    local = True,
    attrs = {
        "path": attr.string(default = "/usr/share/bazel/rules/cc"),
        "patched_files": attr.string_list(default = [
            "cc/private/rules_impl/cc_flags_supplier.bzl",
            "cc/private/rules_impl/compiler_flag.bzl",
        ]),
    },
)

def _remote_coverage_tools_impl(repository_ctx):
    # Test rules carry implicit dependencies on these two tools even when no
    # coverage is collected; Bazel would download them. Coverage is not part
    # of flaky's offline build, so they exist only to say so if invoked.
    repository_ctx.file("unsupported.sh", """#!/bin/sh
echo "coverage is not available in flaky's offline workspace" >&2
exit 1
""", executable = True)
    repository_ctx.file("WORKSPACE", 'workspace(name = "remote_coverage_tools")\n')
    repository_ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

sh_binary(name = "coverage_report_generator", srcs = ["unsupported.sh"])

sh_binary(name = "lcov_merger", srcs = ["unsupported.sh"])
""")

_remote_coverage_tools = repository_rule(implementation = _remote_coverage_tools_impl)

def _debian_library_impl(repository_ctx):
    # Debian's -dev packages install headers under /usr/include, which the
    # auto-configured C++ toolchain searches already, so a library is its
    # link flags. The BUILD template names them as `{pkg-config MODULE...}`
    # and pkg-config fills in the complete, ordered list (Abseil alone is
    # ~80 shared objects) for whatever version Debian installed.
    for header in repository_ctx.attr.headers:
        if not repository_ctx.path(header).exists:
            fail("%s not found: install Debian's %s (ci/bootstrap does)" % (header, repository_ctx.attr.package))
    text = repository_ctx.read(repository_ctx.attr.build_file)
    for _ in range(100):
        start = text.find("{pkg-config ")
        if start < 0:
            break
        end = text.find("}", start)
        modules = text[start + len("{pkg-config "):end].split(" ")
        pkg_config = repository_ctx.which("pkg-config")
        if pkg_config == None:
            fail("pkg-config not found: install Debian's pkg-config (ci/bootstrap does)")
        result = repository_ctx.execute([pkg_config, "--libs"] + modules)
        if result.return_code != 0:
            fail("pkg-config --libs %s failed; install Debian's %s (ci/bootstrap does): %s" %
                 (" ".join(modules), repository_ctx.attr.package, result.stderr))
        linkopts = [flag for flag in result.stdout.strip().split(" ") if flag]
        text = text[:start] + repr(linkopts) + text[end + 1:]
    repository_ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % repository_ctx.name)
    repository_ctx.file("BUILD.bazel", text)

_debian_library = repository_rule(
    implementation = _debian_library_impl,
    local = True,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "package": attr.string(mandatory = True, doc = "the Debian package that provides it"),
        "headers": attr.string_list(doc = "files whose absence means the package is missing"),
    },
)

def flaky_dependencies():
    """Declares every external repository flaky needs, all local."""
    _debian_rules_cc(name = "rules_cc")
    native.local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")
    _remote_coverage_tools(name = "remote_coverage_tools")

    _debian_library(
        name = "com_google_googletest",
        build_file = "@flaky//third_party:googletest.BUILD",
        package = "libgmock-dev",
        headers = ["/usr/include/gmock/gmock.h", "/usr/include/gtest/gtest.h"],
    )
    _debian_library(
        name = "com_google_benchmark",
        build_file = "@flaky//third_party:benchmark.BUILD",
        package = "libbenchmark-dev",
        headers = ["/usr/include/benchmark/benchmark.h"],
    )
    _debian_library(
        name = "com_google_absl",
        build_file = "@flaky//third_party:absl.BUILD",
        package = "libabsl-dev",
        headers = ["/usr/include/absl/status/status.h"],
    )
    _debian_library(
        name = "com_github_jupp0r_prometheus_cpp",
        build_file = "@flaky//third_party:prometheus_cpp.BUILD",
        package = "prometheus-cpp-dev",
        headers = ["/usr/include/prometheus/registry.h"],
    )
    _debian_library(
        name = "org_sqlite",
        build_file = "@flaky//third_party:sqlite.BUILD",
        package = "libsqlite3-dev",
        headers = ["/usr/include/sqlite3.h"],
    )
    _debian_library(
        name = "org_pugixml",
        build_file = "@flaky//third_party:pugixml.BUILD",
        package = "libpugixml-dev",
        headers = ["/usr/include/pugixml.hpp"],
    )
    _debian_library(
        name = "org_libzip",
        build_file = "@flaky//third_party:libzip.BUILD",
        package = "libzip-dev",
        headers = ["/usr/include/zip.h"],
    )
    _debian_library(
        name = "com_github_nlohmann_json",
        build_file = "@flaky//third_party:nlohmann_json.BUILD",
        package = "nlohmann-json3-dev",
        headers = ["/usr/include/nlohmann/json.hpp"],
    )
