// The three flavours of libtt_metal.so, checked with nm and objdump as a
// tracker's probe would: the hook points are exported with upstream's
// mangled names, the inline getters are not, and the call from Buffer::create
// to allocate_impl goes through the PLT (gcc), is inlined (clang) or is bound
// directly (-Bsymbolic-functions).
#include <criterion/criterion.h>

#include <set>
#include <sstream>
#include <string>

#include "helpers.hpp"

namespace {

const char* const kFlavours[] = {"gcc", "clang", "symbolic"};

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
    "_ZN2tt8tt_metal6Buffer13allocate_implEv",
    "_ZN2tt8tt_metal6Buffer15deallocate_implEv",
    "_ZN2tt8tt_metal6Buffer10deallocateEv",
    "_ZN2tt8tt_metal6BufferD1Ev",
    "_ZN2tt8tt_metal6BufferD2Ev",
    "_ZNK2tt8tt_metal6Buffer7addressEv",
    "_ZNK2tt8tt_metal6Buffer9page_sizeEv",
    "_ZNK2tt8tt_metal6Buffer9num_pagesEv",
    "_ZNK2tt8tt_metal6Buffer12aligned_sizeEv",
    "_ZNK2tt8tt_metal6Buffer7is_dramEv",
    "_ZNK2tt8tt_metal6Buffer5is_l1Ev",
    "_ZNK2tt8tt_metal6Buffer8is_traceEv",
    "_ZN2tt8tt_metal6Buffer6createEPNS0_7IDeviceEmmNS0_10BufferTypeERKNS0_18BufferShardingArgsESt8optionalIbES8_"
    "INS_3stl10StrongTypeIhNS0_14SubDeviceIdTagEEEE",
    "_ZN2tt8tt_metal6Buffer6createEPNS0_7IDeviceEmmmNS0_10BufferTypeERKNS0_18BufferShardingArgsESt8optionalIbES8_"
    "INS_3stl10StrongTypeIhNS0_14SubDeviceIdTagEEEE",
    "_ZN2tt8tt_metal6Device5closeEv",
    "_ZN2tt8tt_metal11distributed10MeshDevice5closeEv",
    "_ZNK2tt8tt_metal11distributed10MeshDevice11get_devicesEv",
    "_ZNK2tt8tt_metal11distributed10MeshDevice11num_devicesEv",
    "_ZN2tt8tt_metal9Allocator18deallocate_buffersEv",
    "_ZN2tt8tt_metal9Allocator5clearEv",
    "_ZN2tt8tt_metal9Allocator15allocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal9Allocator17deallocate_bufferEPNS0_6BufferE",
    "_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj",
    "_ZN2tt8tt_metal14HWCommandQueueC2EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj",
    "_ZN2tt8tt_metal14HWCommandQueueD0Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD1Ev",
    "_ZN2tt8tt_metal14HWCommandQueueD2Ev",
    "_ZN2tt8tt_metal19SystemMemoryManagerC1Eih",
    "_ZN2tt8tt_metal19SystemMemoryManagerC2Eih",
    "_ZN2tt8tt_metal19SystemMemoryManagerD1Ev",
    "_ZN2tt8tt_metal16SubDeviceManagerD1Ev",
    "_ZN2tt8tt_metal12CreateDeviceEihmmRKNS0_18DispatchCoreConfigERKSt6vectorIjSaIjEEm",
    "_ZN2tt8tt_metal11CloseDeviceEPNS0_7IDeviceE",
    "_ZN2tt8tt_metal11distributed10MeshDevice6createERKNS1_16MeshDeviceConfigEmmmRKNS0_18DispatchCoreConfigE",
    "_ZTIN2tt8tt_metal6DeviceE",
    "_ZTIN2tt8tt_metal11distributed10MeshDeviceE",
    "ttemu_open_mesh",
    "ttemu_alloc",
    "ttemu_write_truth",
};

// Inline in buffer.hpp: hidden by -fvisibility-inlines-hidden, as upstream.
const char* const kHidden[] = {
    "_ZNK2tt8tt_metal6Buffer4sizeEv",
    "_ZNK2tt8tt_metal6Buffer11buffer_typeEv",
    "_ZNK2tt8tt_metal6Buffer6deviceEv",
    "_ZNK2tt8tt_metal6Buffer9allocatorEv",
};

std::string lib(const char* flavour) { return std::string(TTEMU_BUILD_DIR) + "/" + flavour + "/libtt_metal.so"; }

std::set<std::string> dynamic_symbols(const char* flavour) {
    int status = 0;
    std::string out = th::capture("nm -D --defined-only " + lib(flavour), &status);
    cr_assert_eq(status, 0, "nm failed on %s", lib(flavour).c_str());
    std::set<std::string> syms;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) syms.insert(line.substr(line.rfind(' ') + 1));
    return syms;
}

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

Test(symbols, hook_points_exported_in_every_flavour) {
    for (const char* f : kFlavours) {
        std::set<std::string> syms = dynamic_symbols(f);
        for (const char* s : kExported) cr_expect(syms.count(s), "%s: %s is not exported", f, s);
        for (const char* s : kHidden) cr_expect(!syms.count(s), "%s: inline %s is exported", f, s);
    }
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
