// Workloads: command line, hold points, random numbers (see common.hpp).
#include "common.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <pthread.h>
#include <unistd.h>

#include "ttemu.h"

namespace wl {

void init_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {

[[noreturn]] void usage_error(const char* prog, const std::string& msg) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, msg.c_str(), prog);
    std::exit(2);
}

bool parse_u64(const char* s, uint64_t* out) {
    if (s == nullptr || *s == '\0' || *s == '-') return false;
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = v;
    return true;
}

const char* base_name(const char* path) {
    const char* slash = std::strrchr(path, '/');
    return slash ? slash + 1 : path;
}

}  // namespace

void parse(int argc, char** argv, const char* usage, std::vector<Flag> flags, Options& opts) {
    const char* prog = base_name(argv[0]);
    flags.push_back({"seed", "seed of every random choice (default 1)", &opts.seed, 0, UINT64_MAX});
    flags.push_back({"hold", "at each hold point, wait MS ms or until SIGUSR1 (default 0)", &opts.hold_ms, 0,
                     24ull * 3600 * 1000});
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::printf("Usage: %s %s\n\nOptions:\n", prog, usage);
            for (const Flag& f : flags)
                std::printf("  --%-12s %s\n", (std::string(f.name) + (f.value ? " N" : "")).c_str(), f.help);
            std::printf("  --%-12s %s\n", "help", "show this help");
            std::printf(
                "\nEnvironment:\n  TTEMU_TRUTH=FILE    write the ground truth JSON there at hold points and exit\n"
                "  TTEMU_READY_FD=N    write \"peak RUN\" / \"closed RUN\" lines to fd N at hold points\n");
            std::exit(0);
        }
        if (arg.rfind("--", 0) != 0) usage_error(prog, "unexpected argument '" + arg + "'");
        std::string name = arg.substr(2), value;
        bool has_value = false;
        size_t eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        const Flag* flag = nullptr;
        for (const Flag& f : flags)
            if (name == f.name) flag = &f;
        if (flag == nullptr) usage_error(prog, "unknown option '--" + name + "'");
        if (flag->value == nullptr) {
            if (has_value) usage_error(prog, "option '--" + name + "' takes no value");
            *flag->on = true;
            continue;
        }
        if (!has_value) {
            if (i + 1 >= argc) usage_error(prog, "option '--" + name + "' needs a value");
            value = argv[++i];
        }
        uint64_t v = 0;
        if (!parse_u64(value.c_str(), &v) || v < flag->min || v > flag->max)
            usage_error(
                prog, "invalid value '" + value + "' for --" + name + " (expected " + std::to_string(flag->min) +
                          ".." + std::to_string(flag->max) + ")");
        *flag->value = v;
    }
}

namespace {

void write_ready_line(const char* what, int run) {
    const char* env = std::getenv("TTEMU_READY_FD");
    if (env == nullptr || *env == '\0') return;
    uint64_t fd = 0;
    if (!parse_u64(env, &fd) || fd > 1024) {
        std::fprintf(stderr, "workload: ignoring invalid TTEMU_READY_FD '%s'\n", env);
        return;
    }
    char line[64];
    int n = std::snprintf(line, sizeof line, "%s %d\n", what, run);
    ssize_t w;
    do {
        w = write(static_cast<int>(fd), line, static_cast<size_t>(n));
    } while (w < 0 && errno == EINTR);
    if (w != n) std::fprintf(stderr, "workload: cannot write to TTEMU_READY_FD %d: %s\n", (int)fd, std::strerror(errno));
}

void hold(uint64_t ms) {
    if (ms == 0) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += static_cast<time_t>(ms / 1000);
    deadline.tv_nsec += static_cast<long>(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline.tv_sec - now.tv_sec;
        left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0) return;
        if (sigtimedwait(&set, nullptr, &left) == SIGUSR1) return;
        if (errno == EAGAIN) return;  // timed out
        // EINTR: another signal; wait for the rest.
    }
}

}  // namespace

void hold_point(const char* what, int run, const ExpectByChip& expect, const Options& opts) {
    int rc = ttemu_write_truth();
    if (rc < 0) std::fprintf(stderr, "workload: cannot write the ground truth: %s\n", std::strerror(-rc));
    for (const auto& [chip, e] : expect)
        std::printf(
            "expect %s %d chip %d DRAM=%llu L1=%llu L1_SMALL=%llu TRACE=%llu CB=%llu buffers=%llu\n", what, run, chip,
            (unsigned long long)e.dram, (unsigned long long)e.l1, (unsigned long long)e.l1_small,
            (unsigned long long)e.trace, (unsigned long long)e.cb, (unsigned long long)e.buffers);
    std::fflush(stdout);
    write_ready_line(what, run);
    hold(opts.hold_ms);
}

uint64_t Rng::next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace wl
