// Tests of the emulated runtime: running workloads and reading what they say.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace th {

// Per chip, by the ground truth's names ("DRAM", ..., "buffers").
using Counts = std::map<std::string, uint64_t>;
using ByChip = std::map<int, Counts>;

// What one chip with one command queue holds right after open.
extern const Counts kSystem;

// Parses the ground truth JSON; false (and a message in *err) if malformed.
bool parse_truth(const std::string& json, ByChip* out, std::string* err);
bool read_file(const std::string& path, std::string* out);

struct Snapshot {
    std::string line;  // "peak 0"
    ByChip truth;      // the truth file as it was at that hold point
    std::string maps;  // /proc/PID/maps of the workload at that point
};

struct Result {
    int status = -1;  // exit status, or 128 + signal
    std::vector<Snapshot> holds;
    std::string out;                                // stdout
    std::map<std::string, ByChip> expect;           // "peak 0" -> chip -> counts
    ByChip exit_truth;                              // truth file after exit
    std::string error;                              // harness problem
};

// Runs argv with TTEMU_TRUTH=truth_path, TTEMU_READY_FD and --hold 60000
// (appended), snapshots the truth at each ready line, releases each hold with
// SIGUSR1.  extra_env: "NAME=VALUE" entries added to the environment.
Result run_workload(const std::vector<std::string>& argv, const std::string& truth_path,
                    const std::vector<std::string>& extra_env = {});

// A fresh path under $TMPDIR (or /tmp) for this test process.
std::string temp_path(const std::string& tag);

// Runs a shell command, returns its stdout (and exit status in *status).
std::string capture(const std::string& cmd, int* status);

Counts add(const Counts& a, const Counts& b);
std::string to_string(const Counts& c);

}  // namespace th
