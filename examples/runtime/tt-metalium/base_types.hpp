// Emulated tt-metal: the small value types of the public API.
//
// Upstream spreads these over buffer_types.hpp, sub_device_types.hpp,
// core_coord.hpp, hal_types.hpp, dispatch_core_common.hpp and umd's arch.hpp.
// They are gathered here because the emulator only needs them to give its
// exported functions the upstream signatures (and so the upstream mangled
// names).  Enumerator values are the upstream ones: a tracker reads them
// as integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tt {

// umd/device/types/arch.hpp (2025).  IDevice::arch() returns this.
enum class ARCH {
    GRAYSKULL = 1,
    WORMHOLE_B0 = 2,
    BLACKHOLE = 3,
    QUASAR = 4,
    Invalid = 0xFF,
};

namespace stl {
// Upstream's strong typedef: a wrapper whose template arguments (and so the
// mangled names of functions taking it) carry a tag type.
template <typename T, typename Tag>
class StrongType {
public:
    constexpr StrongType() = default;
    constexpr explicit StrongType(T v) : value_(v) {}
    constexpr const T& operator*() const { return value_; }
    constexpr bool operator==(const StrongType& o) const { return value_ == o.value_; }

private:
    T value_{};
};
}  // namespace stl
}  // namespace tt

// The 2026 runtime's strong type lives in namespace ttsl (tt::stl became a
// deprecated alias): ContextId, and so the 2026 SystemMemoryManager
// constructor, mangle with N4ttsl10StrongType.  SubDeviceId keeps the 2025
// spelling in every emulated generation: Buffer::create carries it, and one
// set of workload binaries runs on all generations.
namespace ttsl {
template <typename T, typename Tag>
class StrongType {
public:
    constexpr StrongType() = default;
    constexpr explicit StrongType(T v) : value_(v) {}
    constexpr const T& operator*() const { return value_; }

private:
    T value_{};
};
}  // namespace ttsl

namespace tt {
namespace tt_metal {

using ChipId = int;  // upstream: chip_id_t
using chip_id_t = ChipId;
using DeviceAddr = std::uint64_t;

enum class BufferType {
    DRAM = 0,
    L1 = 1,
    SYSTEM_MEMORY = 2,
    L1_SMALL = 3,
    TRACE = 4,
};

enum class TensorMemoryLayout {
    INTERLEAVED = 0,
    HEIGHT_SHARDED = 2,
    WIDTH_SHARDED = 3,
    BLOCK_SHARDED = 4,
};

using SubDeviceId = tt::stl::StrongType<std::uint8_t, struct SubDeviceIdTag>;
using SubDeviceManagerId = tt::stl::StrongType<std::uint64_t, struct SubDeviceManagerIdTag>;
// 2026: which MetalContext an object belongs to.
using ContextId = ttsl::StrongType<int, struct ContextIdTag>;

enum NOC : std::uint8_t {
    NOC_0 = 0,
    NOC_1 = 1,
};

struct CoreCoord {
    std::size_t x = 0;
    std::size_t y = 0;
};

struct CoreRange {
    CoreCoord start_coord;
    CoreCoord end_coord;
    std::size_t size() const { return (end_coord.x - start_coord.x + 1) * (end_coord.y - start_coord.y + 1); }
};

class CoreRangeSet {
public:
    CoreRangeSet() = default;
    explicit CoreRangeSet(const CoreRange& r) : ranges_{r} {}
    const std::vector<CoreRange>& ranges() const { return ranges_; }
    std::size_t num_cores() const {
        std::size_t n = 0;
        for (const auto& r : ranges_) n += r.size();
        return n;
    }

private:
    std::vector<CoreRange> ranges_;
};

enum class DispatchCoreType : std::uint32_t { WORKER = 0, ETH = 1 };
enum class DispatchCoreAxis { ROW = 0, COL = 1 };

class DispatchCoreConfig {
public:
    DispatchCoreConfig() = default;
    DispatchCoreType get_core_type() const { return type_; }
    DispatchCoreAxis get_dispatch_core_axis() const { return axis_; }

private:
    DispatchCoreType type_ = DispatchCoreType::WORKER;
    DispatchCoreAxis axis_ = DispatchCoreAxis::ROW;
};

// Upstream defaults are 0: an application that wants L1_SMALL or TRACE
// buffers asks for the region when it opens the device.
constexpr std::size_t DEFAULT_L1_SMALL_SIZE = 0;
constexpr std::size_t DEFAULT_TRACE_REGION_SIZE = 0;
constexpr std::size_t DEFAULT_WORKER_L1_SIZE = 0;

}  // namespace tt_metal
}  // namespace tt
