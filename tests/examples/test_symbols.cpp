// Every build of libtt_metal.so, checked with nm and objdump as a tracker's
// probe would: per generation, the hook points are exported with upstream's
// mangled names (abi/GENERATIONS.md) and what upstream keeps inline or
// removed is not; in G1 the call from Buffer::create to allocate_impl goes
// through the PLT (gcc), is inlined (clang) or is bound directly
// (-Bsymbolic-functions).  And the workloads, built once against G1, import
// only what every build exports and read no Buffer field inline.
#include <criterion/criterion.h>

#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace {

struct Build {
    const char* dir;  // under TTEMU_BUILD_DIR
    int gen;          // 1 "2025", 2 "2025b", 3 "2026"
};
const Build kBuilds[] = {{"gcc", 1},       {"clang", 1},       {"symbolic", 1}, {"2025b/gcc", 2},
                         {"2025b/clang", 2}, {"2026/gcc", 3}, {"2026/clang", 3}};

// Exported by every generation.
const char* const kExported[] = {
    "_ZN2tt8tt_metal12GraphTracker8instanceEv",
    "_ZN2tt8tt_metal12GraphTracker14track_allocateEPKNS0_6BufferE",
    "_ZN2tt8tt_metal12GraphTracker16track_deallocateEPNS0_6BufferE",
    "_ZN2tt8tt_metal12GraphTracker17track_allocate_cbERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE",
    "_ZN2tt8tt_metal12GraphTracker19track_deallocate_cbEPKNS0_7IDeviceE",
    "_ZN2tt8tt_metal12GraphTracker13track_programEPNS0_7ProgramEPKNS0_7IDeviceE",
    "_ZN2tt8tt_metal12GraphTracker8add_hookERKSt10shared_ptrINS0_11IGraphHooksEE",
    "_ZN2tt8tt_metal12GraphTracker13hook_allocateEPKNS0_6BufferE",
    "_ZN2tt8tt_metal12GraphTracker15hook_deallocateEPNS0_6BufferE",
    "_ZN2tt8tt_metal12GraphTracker12hook_programEPNS0_7ProgramE",
    "_ZN2tt8tt_metal12GraphTracker10clear_hookEv",
    "_ZN2tt8tt_metal7ProgramD1Ev",
    "_ZN2tt8tt_metal6BufferD1Ev",
    "_ZN2tt8tt_metal6BufferD2Ev",
    "_ZNK2tt8tt_metal6Buffer7addressEv",
    "_ZNK2tt8tt_metal6Buffer9page_sizeEv",
    "_ZNK2tt8tt_metal6Buffer9num_pagesEv",
    "_ZNK2tt8tt_metal6Buffer12aligned_sizeEv",
    "_ZNK2tt8tt_metal6Buffer7is_dramEv",
    "_ZNK2tt8tt_metal6Buffer12is_allocatedEv",
    "_ZN2tt8tt_metal6Buffer6createEPNS0_7IDeviceEmmNS0_10BufferTypeERKNS0_18BufferShardingArgsESt8optionalIbES8_"
    "INS_3stl10StrongTypeIhNS0_14SubDeviceIdTagEEEE",
    "_ZN2tt8tt_metal6Buffer6createEPNS0_7IDeviceEmmmNS0_10BufferTypeERKNS0_18BufferShardingArgsESt8optionalIbES8_"
    "INS_3stl10StrongTypeIhNS0_14SubDeviceIdTagEEEE",
    "_ZN2tt8tt_metal6Device5closeEv",
    "_ZN2tt8tt_metal6Device23init_command_queue_hostEv",
    "_ZN2tt8tt_metal11distributed10MeshDevice5closeEv",
    "_ZNK2tt8tt_metal11distributed10MeshDevice11get_devicesEv",
    "_ZNK2tt8tt_metal11distributed10MeshDevice11num_devicesEv",
    "_ZN2tt8tt_metal16SubDeviceManagerD1Ev",
    "_ZN2tt8tt_metal12CreateDeviceEihmmRKNS0_18DispatchCoreConfigERKSt6vectorIjSaIjEEm",
    "_ZN2tt8tt_metal11CloseDeviceEPNS0_7IDeviceE",
    "_ZN2tt8tt_metal11distributed10MeshDevice6createERKNS1_16MeshDeviceConfigEmmmRKNS0_18DispatchCoreConfigE",
    "_ZTIN2tt8tt_metal6DeviceE",
    "_ZTIN2tt8tt_metal11distributed10MeshDeviceE",
    "ttemu_open_mesh",
    "ttemu_alloc",
    "ttemu_write_truth",
    "ttemu_generation",
};

// Inline in every generation: no ttnn wheel exports it.
const char* const kNeverExported[] = {
    "_ZNK2tt8tt_metal6Buffer5is_l1Ev",
};

// G1 and G2: the 2025 Buffer.
const char* const kExported2025[] = {
    "_ZN2tt8tt_metal6Buffer13allocate_implEv",
    "_ZN2tt8tt_metal6Buffer15deallocate_implEv",
    "_ZN2tt8tt_metal6Buffer10deallocateEv",
    "_ZNK2tt8tt_metal6Buffer8is_traceEv",
};

// G1 only: the 2025 command queue and system memory manager (ttnn 0.59,
// 0.65).
const char* const kOwners2025[] = {
    "_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj",
    "_ZN2tt8tt_metal14HWCommandQueueC2EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj",
    "_ZN2tt8tt_metal14HWCommandQueueD0Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD1Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD2Ev",
    "_ZN2tt8tt_metal19SystemMemoryManagerC1Eih",
    "_ZN2tt8tt_metal19SystemMemoryManagerC2Eih",
    "_ZN2tt8tt_metal19SystemMemoryManagerD1Ev",
};

// G3: every Buffer getter out of line; the program-scope L1 events of ttnn
// 0.81.1 (exported, uncalled).
const char* const kExported2026[] = {
    "_ZN2tt8tt_metal12GraphTracker25track_allocate_scratchpadERKNS0_12CoreRangeSetEmmPKNS0_7IDeviceE",
    "_ZN2tt8tt_metal12GraphTracker30track_allocate_dataflow_bufferERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE",
    "_ZNK2tt8tt_metal6Buffer6deviceEv",
    "_ZNK2tt8tt_metal6Buffer4sizeEv",
    "_ZNK2tt8tt_metal6Buffer11buffer_typeEv",
    "_ZNK2tt8tt_metal6Buffer9unique_idEv",
    "_ZNK2tt8tt_metal6Buffer4implEv",
    "_ZN2tt8tt_metal6Buffer4implEv",
};

// G2 and G3: the owners and open path of ttnn 0.70.1 and 0.81.1
// (HWCommandQueue takes a Device*, not an IDevice*).
const char* const kOwners2026[] = {
    "_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_6DeviceEjNS0_3NOCE",
    "_ZN2tt8tt_metal14HWCommandQueueC2EPNS0_6DeviceEjNS0_3NOCE",
    "_ZN2tt8tt_metal19SystemMemoryManagerC1EN4ttsl10StrongTypeIiNS0_12ContextIdTagEEEih",
    "_ZN2tt8tt_metal19SystemMemoryManagerC2EN4ttsl10StrongTypeIiNS0_12ContextIdTagEEEih",
    "_ZN2tt8tt_metal6Device39init_command_queue_device_with_topologyEPNS0_16DispatchTopologyE",
};

const char* const kAllocator2025[] = {
    "_ZN2tt8tt_metal9Allocator18deallocate_buffersEv",
    "_ZN2tt8tt_metal9Allocator5clearEv",
    "_ZN2tt8tt_metal9Allocator15allocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal9Allocator17deallocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal9AllocatorD0Ev",
    "_ZN2tt8tt_metal9AllocatorD1Ev",
};

const char* const kAllocatorImpl[] = {
    "_ZN2tt8tt_metal13AllocatorImpl18deallocate_buffersEv",
    "_ZN2tt8tt_metal13AllocatorImpl5clearEv",
    "_ZN2tt8tt_metal13AllocatorImpl15allocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal13AllocatorImpl17deallocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal13AllocatorImplD1Ev",
    "_ZN2tt8tt_metal13AllocatorImplD2Ev",
};

// Inline in the 2025 buffer.hpp: hidden by -fvisibility-inlines-hidden, as
// upstream (allocator() moved out of line in G2).
const char* const kInline2025[] = {
    "_ZNK2tt8tt_metal6Buffer4sizeEv",
    "_ZNK2tt8tt_metal6Buffer11buffer_typeEv",
    "_ZNK2tt8tt_metal6Buffer6deviceEv",
};

// Gone in G3: the bodies left Buffer, is_trace() was removed.
const char* const kGone2026[] = {
    "_ZN2tt8tt_metal6Buffer13allocate_implEv",
    "_ZN2tt8tt_metal6Buffer15deallocate_implEv",
    "_ZN2tt8tt_metal6Buffer10deallocateEv",
    "_ZNK2tt8tt_metal6Buffer8is_traceEv",
};

// Gone in G2 and G3: the command queue's destructor is `= default` (inline)
// and the system memory manager declares none; the 2025 constructors.
const char* const kOwnersGone2026[] = {
    "_ZN2tt8tt_metal14HWCommandQueueD0Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD1Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD2Ev",
    "_ZN2tt8tt_metal19SystemMemoryManagerD1Ev",
    "_ZN2tt8tt_metal19SystemMemoryManagerD2Ev",
    "_ZN2tt8tt_metal19SystemMemoryManagerC1Eih",
    "_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj",
};

std::string lib(const char* dir) { return std::string(TTEMU_BUILD_DIR) + "/" + dir + "/libtt_metal.so"; }

// The last word of every line of `cmd`'s output (nm's symbol names).
std::set<std::string> symbols_of(const std::string& cmd) {
    int status = 0;
    std::string out = th::capture(cmd, &status);
    cr_assert_eq(status, 0, "failed: %s", cmd.c_str());
    std::set<std::string> syms;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) syms.insert(line.substr(line.rfind(' ') + 1));
    return syms;
}

std::set<std::string> dynamic_symbols(const char* dir) { return symbols_of("nm -D --defined-only " + lib(dir)); }

void expect_all(const std::set<std::string>& syms, const char* dir, const char* const* names, size_t n, bool present,
                const char* what) {
    for (size_t i = 0; i < n; i++)
        cr_expect(syms.count(names[i]) == (present ? 1u : 0u), "%s: %s %s %s", dir, names[i],
                  present ? "is not exported, but" : "is exported, but", what);
}
#define EXPECT_ALL(syms, dir, names, present, what) \
    expect_all(syms, dir, names, sizeof(names) / sizeof(names[0]), present, what)

// The call instructions of the owning Buffer::create (hot and .cold parts).
std::string create_calls(const char* flavour) {
    int status = 0;
    std::string out = th::capture(
        "objdump -d --no-show-raw-insn " + lib(flavour) +
            " | awk '/^[0-9a-f]+ <_ZN2tt8tt_metal6Buffer6createEPNS0_7IDeviceEmmNS0_10BufferType/{p=1;next} "
            "/^[0-9a-f]+ </{p=0} p && /call/'",
        &status);
    cr_assert_eq(status, 0);
    cr_assert(out.find("call") != std::string::npos, "no calls found in %s Buffer::create", flavour);
    return out;
}

}  // namespace

Test(symbols, per_generation_exports) {
    for (const Build& b : kBuilds) {
        std::set<std::string> syms = dynamic_symbols(b.dir);
        EXPECT_ALL(syms, b.dir, kExported, true, "every generation exports it");
        EXPECT_ALL(syms, b.dir, kNeverExported, false, "it is inline in every generation");
        EXPECT_ALL(syms, b.dir, kExported2025, b.gen < 3, "the 2025 Buffer has it (G1, G2)");
        EXPECT_ALL(syms, b.dir, kGone2026, b.gen < 3, "G3 removed or inlined it");
        EXPECT_ALL(syms, b.dir, kExported2026, b.gen == 3, "only G3 has it");
        EXPECT_ALL(syms, b.dir, kOwners2025, b.gen == 1, "only G1 has the 2025 owners");
        EXPECT_ALL(syms, b.dir, kOwnersGone2026, b.gen == 1, "G2 and G3 removed or inlined it");
        EXPECT_ALL(syms, b.dir, kOwners2026, b.gen >= 2, "G2 and G3 have the 2026 owners");
        EXPECT_ALL(syms, b.dir, kAllocator2025, b.gen == 1, "only G1's allocator class is Allocator");
        EXPECT_ALL(syms, b.dir, kAllocatorImpl, b.gen >= 2, "G2 and G3 call it AllocatorImpl");
        EXPECT_ALL(syms, b.dir, kInline2025, b.gen == 3, "inline (hidden) in G1/G2, exported in G3");
        cr_expect(syms.count("_ZNK2tt8tt_metal6Buffer9allocatorEv") == (b.gen >= 2 ? 1u : 0u),
                  "%s: Buffer::allocator() is inline in G1 only", b.dir);
        cr_expect(!syms.count("_ZN2tt8tt_metal13AllocatorImplD0Ev"), "%s: ~AllocatorImpl is not virtual", b.dir);
        // The emulator's own plumbing is never exported: a probe must not
        // find names upstream does not have.
        for (const std::string& sym : syms)
            cr_expect(sym.find("BufferAccess") == std::string::npos && sym.find("maybe_fail") == std::string::npos,
                      "%s: internal %s is exported", b.dir, sym.c_str());
    }
}

// The workloads are linked against the G1 gcc build and switched to every
// other build with LD_LIBRARY_PATH: everything they import from the runtime
// must be exported by all seven.
Test(symbols, workloads_import_only_what_every_build_exports) {
    std::vector<std::set<std::string>> exports;
    for (const Build& b : kBuilds) exports.push_back(dynamic_symbols(b.dir));
    for (const char* w : {"mesh_allocation", "leak", "churn", "lifecycle"}) {
        const std::string bin = std::string(TTEMU_BUILD_DIR) + "/bin/" + w;
        std::set<std::string> imports = symbols_of("nm -D --undefined-only " + bin);
        size_t runtime_imports = 0;
        for (const std::string& sym : imports) {
            if (!exports[0].count(sym)) continue;  // libc, libstdc++
            runtime_imports++;
            for (size_t i = 0; i < exports.size(); i++)
                cr_expect(exports[i].count(sym), "%s imports %s, which %s does not export", w, sym.c_str(),
                          kBuilds[i].dir);
        }
        cr_expect_gt(runtime_imports, 0u, "%s: no runtime imports found", w);
    }
}

// The workloads are compiled with TTEMU_PORTABLE_CLIENT: a header-inline
// Buffer field read (which G3's layout would turn into a read past the
// object) does not compile; the exported getters do.
Test(symbols, portable_clients_cannot_read_buffer_fields_inline) {
    const std::string src = th::temp_path("portable.cpp");
    auto compiles = [&](const std::string& body) {
        FILE* f = std::fopen(src.c_str(), "w");
        cr_assert_not_null(f);
        std::fprintf(f, "#include <tt-metalium/buffer.hpp>\nusing namespace tt::tt_metal;\n"
                        "unsigned long f(const Buffer* b) { return %s; }\n", body.c_str());
        std::fclose(f);
        int status = 0;
        th::capture("g++ -std=c++17 -Werror -DTTEMU_PORTABLE_CLIENT=1 -I" TTEMU_SOURCE_DIR
                    "/examples/runtime -fsyntax-only " + src + " 2>&1",
                    &status);
        return status == 0;
    };
    cr_expect(compiles("b->address() + b->page_size() * b->num_pages() + b->is_dram()"));
    cr_expect(!compiles("b->size()"));
    cr_expect(!compiles("static_cast<unsigned long>(b->buffer_type())"));
    cr_expect(!compiles("reinterpret_cast<unsigned long>(b->device())"));
    std::remove(src.c_str());
}

Test(symbols, gcc_create_calls_allocate_impl_through_the_plt) {
    std::string calls = create_calls("gcc");
    cr_expect(calls.find("<_ZN2tt8tt_metal6Buffer13allocate_implEv@plt>") != std::string::npos, "%s", calls.c_str());
}

Test(symbols, clang_create_inlines_allocate_impl) {
    std::string calls = create_calls("clang");
    cr_expect(calls.find("allocate_impl") == std::string::npos, "%s", calls.c_str());
    cr_expect(calls.find("<_ZN2tt8tt_metal12GraphTracker14track_allocateEPKNS0_6BufferE@plt>") != std::string::npos,
              "the inlined body calls track_allocate through the PLT:\n%s", calls.c_str());
}

Test(symbols, symbolic_binds_allocate_impl_directly) {
    std::string calls = create_calls("symbolic");
    cr_expect(calls.find("<_ZN2tt8tt_metal6Buffer13allocate_implEv>") != std::string::npos, "%s", calls.c_str());
    cr_expect(calls.find("allocate_impl") != std::string::npos && calls.find("allocate_implEv@plt") == std::string::npos,
              "%s", calls.c_str());
}
