// Tests of the emulated runtime: helpers (see helpers.hpp).
#include "helpers.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace th {

const Counts kSystem = {{"DRAM", 15466496}, {"L1", 114688}, {"L1_SMALL", 0},
                        {"TRACE", 0},       {"CB", 0},      {"buffers", 12}};

namespace {

struct Parser {
    const std::string& s;
    size_t i = 0;
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++;
    }
    bool lit(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            i++;
            return true;
        }
        return false;
    }
    bool str(std::string* out) {
        if (!lit('"')) return false;
        size_t end = s.find('"', i);
        if (end == std::string::npos) return false;
        *out = s.substr(i, end - i);
        i = end + 1;
        return true;
    }
    bool num(uint64_t* out) {
        ws();
        size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++;
        if (start == i) return false;
        *out = std::strtoull(s.c_str() + start, nullptr, 10);
        return true;
    }
};

}  // namespace

bool parse_truth(const std::string& json, ByChip* out, std::string* err) {
    Parser p{json};
    std::string key;
    out->clear();
    if (!p.lit('{') || !p.str(&key) || key != "devices" || !p.lit(':') || !p.lit('[')) {
        *err = "expected {\"devices\":[";
        return false;
    }
    if (p.lit(']')) return p.lit('}');
    do {
        if (!p.lit('{')) {
            *err = "expected a device object";
            return false;
        }
        Counts c;
        do {
            uint64_t v;
            if (!p.str(&key) || !p.lit(':') || !p.num(&v)) {
                *err = "expected \"key\":number";
                return false;
            }
            // What each bank holds is the preload tests' business (harness.c).
            if (key.size() <= 9 || key.compare(key.size() - 9, 9, "_per_bank") != 0) c[key] = v;
        } while (p.lit(','));
        if (!p.lit('}') || !c.count("device")) {
            *err = "device object without \"device\"";
            return false;
        }
        int id = static_cast<int>(c["device"]);
        c.erase("device");
        (*out)[id] = c;
    } while (p.lit(','));
    if (!p.lit(']') || !p.lit('}')) {
        *err = "expected ]}";
        return false;
    }
    return true;
}

bool read_file(const std::string& path, std::string* out) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return false;
    out->clear();
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
    std::fclose(f);
    return true;
}

std::string temp_path(const std::string& tag) {
    static int n = 0;
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/ttemu-test-" + std::to_string(getpid()) + "-" +
           std::to_string(n++) + "-" + tag;
}

namespace {

// "expect peak 0 chip 3 DRAM=1 L1=2 ..." lines.
void parse_expect(const std::string& out, std::map<std::string, ByChip>* expect) {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream w(line);
        std::string word, what, run, chip_kw;
        int chip;
        if (!(w >> word) || word != "expect" || !(w >> what >> run >> chip_kw >> chip)) continue;
        Counts& c = (*expect)[what + " " + run][chip];
        while (w >> word) {
            size_t eq = word.find('=');
            if (eq != std::string::npos) c[word.substr(0, eq)] = std::strtoull(word.c_str() + eq + 1, nullptr, 10);
        }
    }
}

}  // namespace

Result run_workload(const std::vector<std::string>& argv, const std::string& truth_path,
                    const std::vector<std::string>& extra_env) {
    Result r;
    int ready[2], out[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        r.error = "pipe failed";
        return r;
    }
    pid_t pid = fork();
    if (pid < 0) {
        r.error = "fork failed";
        return r;
    }
    if (pid == 0) {
        dup2(out[1], 1);
        int fd = dup(ready[1]);  // without O_CLOEXEC
        setenv("TTEMU_TRUTH", truth_path.c_str(), 1);
        setenv("TTEMU_READY_FD", std::to_string(fd).c_str(), 1);
        for (const auto& kv : extra_env) putenv(strdup(kv.c_str()));
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(const_cast<char*>("--hold"));
        args.push_back(const_cast<char*>("60000"));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(ready[1]);
    close(out[1]);
    // stdout is small (the expect lines); read it after the ready pipe closes.
    FILE* lines = fdopen(ready[0], "r");
    char buf[256];
    while (lines && std::fgets(buf, sizeof buf, lines)) {
        Snapshot s;
        s.line = buf;
        if (!s.line.empty() && s.line.back() == '\n') s.line.pop_back();
        std::string json, err;
        if (!read_file(truth_path, &json) || !parse_truth(json, &s.truth, &err))
            r.error += "bad truth at '" + s.line + "': " + err + "; ";
        read_file("/proc/" + std::to_string(pid) + "/maps", &s.maps);
        r.holds.push_back(s);
        kill(pid, SIGUSR1);
    }
    if (lines) std::fclose(lines);
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    parse_expect(r.out, &r.expect);
    std::string json, err;
    if (read_file(truth_path, &json) && !parse_truth(json, &r.exit_truth, &err)) r.error += "bad exit truth: " + err;
    return r;
}

std::string capture(const std::string& cmd, int* status) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
        *status = -1;
        return out;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

Counts add(const Counts& a, const Counts& b) {
    Counts c = a;
    for (const auto& [k, v] : b) c[k] += v;
    return c;
}

std::string to_string(const Counts& c) {
    std::string s;
    for (const auto& [k, v] : c) s += k + "=" + std::to_string(v) + " ";
    return s;
}

}  // namespace th
