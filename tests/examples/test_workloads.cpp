// Every workload against the ground truth, on every build of the runtime
// (the workloads are linked against the G1 gcc build; LD_LIBRARY_PATH
// switches them): at each peak the truth equals the system buffers plus what
// the workload says it allocated; after each close every chip holds 0 of
// every type.  Runs the workloads as separate processes, synchronised
// through TTEMU_READY_FD and SIGUSR1 (no sleeps).
#include <criterion/criterion.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "helpers.hpp"

#ifndef TTEMU_BUILD_DIR
#error "TTEMU_BUILD_DIR must be the emulator's build directory"
#endif

namespace {

const std::string kBin = std::string(TTEMU_BUILD_DIR) + "/bin/";
const th::Counts kZero = {{"DRAM", 0}, {"L1", 0}, {"L1_SMALL", 0}, {"TRACE", 0}, {"CB", 0}, {"buffers", 0}};

void expect_counts(const th::Counts& got, const th::Counts& want, const std::string& where) {
    cr_expect(got == want, "%s:\n  truth    %s\n  expected %s", where.c_str(), th::to_string(got).c_str(),
              th::to_string(want).c_str());
}

// Checks every hold point of a run: peaks against system + expect lines,
// closes against zero.  `chips` lists the chips that must appear.
void check_holds(const th::Result& r, const std::vector<std::string>& lines, int chips) {
    cr_assert_str_empty(r.error.c_str(), "harness: %s", r.error.c_str());
    cr_assert_eq(r.status, 0, "exit status %d; stdout:\n%s", r.status, r.out.c_str());
    cr_assert_eq(r.holds.size(), lines.size(), "%zu hold points, expected %zu", r.holds.size(), lines.size());
    for (size_t i = 0; i < lines.size(); i++) {
        const th::Snapshot& s = r.holds[i];
        cr_assert_str_eq(s.line.c_str(), lines[i].c_str());
        cr_assert_eq(s.truth.size(), static_cast<size_t>(chips), "'%s': %zu chips in the truth, expected %d",
                     s.line.c_str(), s.truth.size(), chips);
        auto exp = r.expect.find(s.line);
        cr_assert(exp != r.expect.end(), "no expect lines for '%s'", s.line.c_str());
        for (const auto& [chip, counts] : s.truth) {
            auto e = exp->second.find(chip);
            cr_assert(e != exp->second.end(), "'%s': chip %d has no expect line", s.line.c_str(), chip);
            const bool peak = s.line.rfind("peak", 0) == 0;
            expect_counts(counts, peak ? th::add(th::kSystem, e->second) : kZero,
                          s.line + " chip " + std::to_string(chip));
        }
    }
}

// Every build, by its folder under TTEMU_BUILD_DIR.
const char* const kBuilds[] = {"gcc", "clang", "symbolic", "2025b/gcc", "2025b/clang", "2026/gcc", "2026/clang"};

// Runs argv on one build; checks the workload really loaded it.
th::Result run_on(const char* build, const std::vector<std::string>& argv, const std::string& truth) {
    const std::string dir = std::string(TTEMU_BUILD_DIR) + "/" + build;
    th::Result r = th::run_workload(argv, truth, {"LD_LIBRARY_PATH=" + dir});
    cr_assert(!r.holds.empty(), "%s: no hold point; status %d, stdout:\n%s", build, r.status, r.out.c_str());
    cr_expect(r.holds[0].maps.find(dir + "/libtt_metal.so") != std::string::npos,
              "the workload did not load %s/libtt_metal.so", dir.c_str());
    return r;
}

}  // namespace

Test(workloads, mesh_allocation_two_runs_return_to_zero) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(build, {kBin + "mesh_allocation", "--runs", "2", "--seed", "7"}, truth);
        check_holds(r, {"peak 0", "closed 0", "peak 1", "closed 1"}, 8);
        for (const auto& [chip, counts] : r.exit_truth)
            expect_counts(counts, kZero, std::string(build) + " exit chip " + std::to_string(chip));
        // Mesh buffers are S bytes on every chip: the peak is the same on
        // chips without the chip-level work (at most one chip has more).
        int differing = 0;
        const th::ByChip& peak = r.holds[0].truth;
        for (const auto& [chip, counts] : peak) differing += counts != peak.begin()->second;
        cr_expect(differing <= 1, "%s: %d chips differ from chip 0 at the peak", build, differing);
        unlink(truth.c_str());
    }
}

Test(workloads, mesh_allocation_is_deterministic) {
    const std::string t1 = th::temp_path("a.json"), t2 = th::temp_path("b.json");
    th::Result a = th::run_workload({kBin + "mesh_allocation", "--chips", "2", "--seed", "11"}, t1);
    th::Result b = th::run_workload({kBin + "mesh_allocation", "--chips", "2", "--seed", "11"}, t2);
    cr_assert_eq(a.status, 0);
    cr_assert_eq(b.status, 0);
    cr_expect_str_eq(a.out.c_str(), b.out.c_str());
    cr_expect(a.holds[0].truth == b.holds[0].truth);
    unlink(t1.c_str());
    unlink(t2.c_str());
}

// What a workload holds does not depend on the build: the same seed gives the
// same truth on all seven.
Test(workloads, truth_is_the_same_on_every_build) {
    th::ByChip first;
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(build, {kBin + "mesh_allocation", "--chips", "4", "--seed", "3"}, truth);
        check_holds(r, {"peak 0", "closed 0"}, 4);
        if (first.empty()) first = r.holds[0].truth;
        cr_expect(r.holds[0].truth == first, "%s: the peak differs from the gcc build's", build);
        unlink(truth.c_str());
    }
}

Test(workloads, leak_keeps_its_buffers_at_exit) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(build, {kBin + "leak", "--chip", "2", "--count", "5", "--seed", "4"}, truth);
        check_holds(r, {"peak 0"}, 1);
        // No close: at exit the chip still holds the system buffers and the
        // forgotten tensors, exactly.
        cr_assert_eq(r.exit_truth.count(2), 1u, "%s", build);
        const th::Counts& leaked = r.expect.at("peak 0").at(2);
        cr_expect_eq(leaked.at("buffers"), 5u, "%s", build);
        expect_counts(r.exit_truth.at(2), th::add(th::kSystem, leaked), std::string(build) + " exit chip 2");
        cr_expect(r.out.find("leaked 5 buffers") != std::string::npos, "%s", build);
        unlink(truth.c_str());
    }
}

Test(workloads, churn_returns_to_zero) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(
            build, {kBin + "churn", "--threads", "3", "--events", "30000", "--chips", "2", "--seed", "5"}, truth);
        check_holds(r, {"peak 0", "closed 0"}, 2);
        cr_expect(r.out.find("events 30000 elapsed_ns ") != std::string::npos, "%s stdout: %s", build, r.out.c_str());
        unlink(truth.c_str());
    }
}

// Captured allocations hold nothing: the truth is the real tensors alone.
Test(workloads, capture_holds_only_real_tensors) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r =
            run_on(build, {kBin + "capture", "--captures", "2000", "--chips", "4", "--runs", "2"}, truth);
        check_holds(r, {"peak 0", "closed 0", "peak 1", "closed 1"}, 4);
        unlink(truth.c_str());
    }
}

// A chip holds the CBs of the program last launched on it, also when that
// launch came from the program cache; none after close.
Test(workloads, programs_cbs_of_the_last_launch) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r =
            run_on(build, {kBin + "programs", "--launches", "300", "--chips", "4", "--runs", "2"}, truth);
        check_holds(r, {"peak 0", "closed 0", "peak 1", "closed 1"}, 4);
        for (const auto& [chip, counts] : r.holds[0].truth)
            cr_expect_gt(counts.at("CB"), 0u, "%s chip %d", build, chip);
        unlink(truth.c_str());
    }
}

Test(workloads, programs_four_threads) {
    const std::string truth = th::temp_path("truth.json");
    th::Result r = th::run_workload({kBin + "programs", "--threads", "4", "--launches", "200", "--chips", "4"}, truth);
    check_holds(r, {"peak 0", "closed 0"}, 4);
    unlink(truth.c_str());
}

Test(workloads, lifecycle_children_and_outliving_buffers) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(build, {kBin + "lifecycle", "--seed", "6"}, truth);
        check_holds(r, {"peak 0", "closed 0", "peak 1", "closed 1"}, 1);
        // The exec'd children wrote their own truth: zero on their own chip.
        for (int chip : {0, 1}) {
            std::string json, err;
            th::ByChip child;
            const std::string path = truth + ".child" + std::to_string(chip);
            cr_assert(th::read_file(path, &json), "%s: no child truth %s", build, path.c_str());
            cr_assert(th::parse_truth(json, &child, &err), "%s", err.c_str());
            cr_assert_eq(child.size(), 1u);
            cr_assert_eq(child.count(chip), 1u);
            expect_counts(child.at(chip), kZero, std::string(build) + " child on chip " + std::to_string(chip));
            unlink(path.c_str());
        }
        unlink(truth.c_str());
    }
}

Test(workloads, lifecycle_throwing_command_queue) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r = run_on(build, {kBin + "lifecycle", "--throw-cq", "--seed", "6"}, truth);
        check_holds(r, {"closed 0", "peak 1", "closed 1"}, 1);
        // G1 fails in the HWCommandQueue constructor, G2/G3 in the dispatch
        // program of init_command_queue_device_with_topology.
        const bool g23 = std::string(build).rfind("2026/", 0) == 0 || std::string(build).rfind("2025b/", 0) == 0;
        const char* where = g23 ? "caught: Device::init_command_queue_device_with_topology on device 0: failed"
                                : "caught: HWCommandQueue 0 on device 0: failed";
        cr_expect(r.out.find(where) != std::string::npos, "%s stdout: %s", build, r.out.c_str());
        unlink(truth.c_str());
    }
}

Test(workloads, python_ctypes_client) {
    for (const char* build : kBuilds) {
        const std::string truth = th::temp_path("truth.json");
        th::Result r =
            run_on(build, {"/usr/bin/env", "python3", kBin + "ctypes_alloc.py", "--chips", "3"}, truth);
        // /usr/bin/env is argv[0]: run_workload appends --hold to the script.
        check_holds(r, {"peak 0", "closed 0"}, 3);
        unlink(truth.c_str());
    }
}

Test(workloads, bad_flags_exit_2) {
    for (const char* w : {"mesh_allocation", "leak", "churn", "lifecycle", "capture", "programs"}) {
        int status = 0;
        std::string err = th::capture(kBin + w + " --no-such-flag 2>&1", &status);
        cr_expect_eq(status, 2, "%s: status %d", w, status);
        cr_expect(err.find("unknown option '--no-such-flag'") != std::string::npos, "%s: %s", w, err.c_str());
        th::capture(kBin + w + " --seed -1 2>&1", &status);
        cr_expect_eq(status, 2, "%s --seed -1: status %d", w, status);
        std::string help = th::capture(kBin + w + " --help", &status);
        cr_expect_eq(status, 0);
        cr_expect(help.find("--hold N") != std::string::npos && help.find("--seed N") != std::string::npos);
    }
}

Test(workloads, run_clean_refuses_without_the_viewer) {
    int status = 0;
    std::string out = th::capture("TTMEM=/nonexistent/ttmem " + kBin + "run_clean.sh 2>&1", &status);
    cr_expect_eq(status, 1);
    cr_expect(out.find("missing: /nonexistent/ttmem (the viewer)") != std::string::npos, "%s", out.c_str());
    cr_expect(out.find("nothing was run") != std::string::npos);
}
