// SPDX-License-Identifier: MIT
//
// The few entry points of the real tt-metal runtime (libtt_metal.so of the
// `ttnn` wheels) that tests/real/mock_workload.cpp calls.  The wheels ship
// no host-API headers, so they are declared here as the public headers
// declare them; only names, argument types and the layout of what is passed
// by reference matter (the mangled names must match the library's exports,
// and a test that links against a wrong one fails at link time).
//
// Sources (facts, not code):
// - tenstorrent/tt-metal @33df036f tt_metal/api/tt-metalium/buffer.hpp:
//   Buffer's getters, BufferType, the SubDeviceId strong type.
// - tenstorrent/tt-metal @ea3322f2 tt_metal/api/tt-metalium/experimental/
//   mock_device.hpp: mock mode is set up before the first device opens.
// - The dynamic symbol tables of ttnn 0.70.1 and 0.81.1 (`nm -DC`): every
//   signature below, and which creator exists where (0.81.1 exports
//   BufferImpl::create and a pimpl BufferShardingArgs with an out-of-line
//   default constructor; 0.70.1 exports Buffer::create, and its
//   BufferShardingArgs is a value class whose defaults are all-zero bytes:
//   both optionals disengaged, TensorMemoryLayout::INTERLEAVED == 0).
// - Statistics is four size_t in both (the disassembly of
//   AllocatorImpl::get_statistics zero-fills 32 bytes when a type has no
//   allocator; the older trailing vector of addresses is gone).
// - Sharding (0.81.1 only): tenstorrent/tt-metal @33df036f buffer.hpp and
//   @04b34050 buffer_types.hpp: ShardSpec {CoreRangeSet grid;
//   array<uint32_t, 2> shape; ShardOrientation}, ShardSpecBuffer {ShardSpec;
//   array page_shape; array tensor2d_shape_in_pages}, HEIGHT_SHARDED == 2;
//   CoreRangeSet is one std::vector<CoreRange> (24 bytes: the 0.81.1 move
//   constructor copies three words), CoreRange two {size_t x, y}; the
//   exported BufferShardingArgs(ShardSpecBuffer, TensorMemoryLayout).
// - DispatchCoreConfig {DispatchCoreType type_; std::optional<Axis> axis_}
//   (or, older, {type_, axis_}): all-zero bytes mean WORKER dispatch with
//   the default axis (ROW on Wormhole) in both layouts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#ifndef TTNN_API
#error "define TTNN_API: 70 (ttnn 0.70.x) or 81 (ttnn 0.81.x)"
#endif

namespace ttsl {
template <typename T, typename Tag>
struct StrongType {
    T value;
};
}  // namespace ttsl

namespace tt::tt_metal {

struct SubDeviceIdTag;
using SubDeviceId = ttsl::StrongType<unsigned char, SubDeviceIdTag>;

enum class BufferType : int { DRAM = 0, L1 = 1, SYSTEM_MEMORY = 2, L1_SMALL = 3, TRACE = 4 };

class IDevice;

enum class TensorMemoryLayout : int { INTERLEAVED = 0, HEIGHT_SHARDED = 2 };
enum class ShardOrientation : int { ROW_MAJOR = 0 };

}  // namespace tt::tt_metal

namespace tt {
struct xy_pair {
    size_t x;
    size_t y;
};
}  // namespace tt

namespace tt::tt_metal {

struct CoreRange {
    xy_pair start_coord;
    xy_pair end_coord;
};

class CoreRangeSet {
public:
    explicit CoreRangeSet(const CoreRange& range);
    CoreRangeSet(const CoreRangeSet& other);

private:
    std::vector<CoreRange> ranges_;  // the whole object (destroyed inline)
};

struct ShardSpec {
    CoreRangeSet grid;
    std::array<uint32_t, 2> shape;
    ShardOrientation orientation;
};

struct ShardSpecBuffer {
    ShardSpec tensor_shard_spec;
    std::array<uint32_t, 2> page_shape;
    std::array<uint32_t, 2> tensor2d_shape_in_pages;
};

// Passed by reference only: zero bytes, large enough for either layout.
class DispatchCoreConfig {
public:
    DispatchCoreConfig() { std::memset(bytes_, 0, sizeof(bytes_)); }

private:
    alignas(16) unsigned char bytes_[64];
};

class BufferShardingArgs {
public:
#if TTNN_API >= 81
    BufferShardingArgs();
    BufferShardingArgs(ShardSpecBuffer shard_spec, TensorMemoryLayout layout);
    ~BufferShardingArgs();
#else
    BufferShardingArgs() { std::memset(bytes_, 0, sizeof(bytes_)); }
#endif

private:
    alignas(16) unsigned char bytes_[1024];
};

class Buffer {
public:
    uint32_t address() const;
    uint64_t page_size() const;
    uint64_t aligned_size_per_bank() const;
#if TTNN_API < 81
    static std::shared_ptr<Buffer> create(IDevice* device, uint64_t size, uint64_t page_size,
                                          BufferType type, const BufferShardingArgs& sharding,
                                          std::optional<bool> bottom_up,
                                          std::optional<SubDeviceId> sub_device);
#endif
};

#if TTNN_API >= 81
struct BufferImpl {
    static std::shared_ptr<Buffer> create(IDevice* device, uint64_t size, uint64_t page_size,
                                          BufferType type, const BufferShardingArgs& sharding,
                                          std::optional<bool> bottom_up,
                                          std::optional<SubDeviceId> sub_device);
};
#endif

struct Statistics {
    size_t total_allocatable_size_bytes;
    size_t total_allocated_bytes;
    size_t total_free_bytes;
    size_t largest_free_block_bytes;
};

class Allocator {
public:
    Statistics get_statistics(const BufferType& type) const;
    uint32_t get_num_banks(const BufferType& type) const;
};

namespace distributed {
class MeshDevice {
public:
    static std::map<int, std::shared_ptr<MeshDevice>> create_unit_meshes(
        const std::vector<int>& device_ids, size_t l1_small_size, size_t trace_region_size,
        size_t num_command_queues, const DispatchCoreConfig& dispatch,
        std::span<const uint32_t> l1_bank_remap, size_t worker_l1_size);
    bool close();
    const std::unique_ptr<Allocator>& allocator() const;
};
}  // namespace distributed

}  // namespace tt::tt_metal

// One creator for both generations of the API.
inline std::shared_ptr<tt::tt_metal::Buffer> metal_create_buffer(
    tt::tt_metal::IDevice* device, uint64_t size, uint64_t page_size, tt::tt_metal::BufferType type,
    const tt::tt_metal::BufferShardingArgs& sharding = tt::tt_metal::BufferShardingArgs())
{
#if TTNN_API >= 81
    return tt::tt_metal::BufferImpl::create(device, size, page_size, type, sharding, std::nullopt,
                                            std::nullopt);
#else
    return tt::tt_metal::Buffer::create(device, size, page_size, type, sharding, std::nullopt,
                                        std::nullopt);
#endif
}

#if TTNN_API >= 81
// A height-sharded buffer of 32x32 tiles of `tile_bytes`: `tiles_per_core`
// tiles on each of the cores (0,0)..(cores-1,0).
inline std::shared_ptr<tt::tt_metal::Buffer> metal_create_sharded(tt::tt_metal::IDevice* device,
                                                                  tt::tt_metal::BufferType type,
                                                                  uint32_t cores,
                                                                  uint32_t tiles_per_core,
                                                                  uint64_t tile_bytes)
{
    using namespace tt::tt_metal;
    CoreRangeSet grid(CoreRange{{0, 0}, {cores - 1, 0}});
    ShardSpecBuffer spec{ShardSpec{grid, {32 * tiles_per_core, 32}, ShardOrientation::ROW_MAJOR},
                         {32, 32},
                         {cores * tiles_per_core, 1}};
    BufferShardingArgs sharded(spec, TensorMemoryLayout::HEIGHT_SHARDED);
    return metal_create_buffer(device, uint64_t{cores} * tiles_per_core * tile_bytes, tile_bytes,
                               type, sharded);
}
#endif
