// Emulated tt-metal: distributed::MeshBuffer, one buffer replicated on every
// chip of a mesh at the same address.
//
// The backing buffer is an owning Buffer on the MeshDevice (tracked, device_
// == the mesh); the per-chip buffers are non-owning views at the backing
// buffer's address (Buffer::create with an address: never reported).  The
// MeshBuffer keeps its MeshDevice alive.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <tt-metalium/buffer.hpp>

namespace tt::tt_metal::distributed {

class MeshDevice;

struct ReplicatedBufferConfig {
    DeviceAddr size = 0;  // per chip
};

struct DeviceLocalBufferConfig {
    DeviceAddr page_size = 0;
    BufferType buffer_type = BufferType::DRAM;
    BufferShardingArgs sharding_args;
    std::optional<bool> bottom_up;
    std::optional<SubDeviceId> sub_device_id;
};

class MeshBuffer {
public:
    // With `address`, nothing is allocated: every buffer is a view.
    // Throws std::runtime_error as Buffer::create does.
    static std::shared_ptr<MeshBuffer> create(
        const ReplicatedBufferConfig& mesh_buffer_config,
        const DeviceLocalBufferConfig& device_local_config,
        MeshDevice* mesh_device,
        std::optional<DeviceAddr> address = std::nullopt);
    ~MeshBuffer();

    MeshDevice* device() const { return mesh_device_.get(); }
    DeviceAddr size() const { return size_; }
    DeviceAddr address() const { return address_; }
    bool is_allocated() const;
    // Frees now (tracked while the mesh is open); safe to call twice.
    void deallocate();
    Buffer* get_backing_buffer() const { return backing_buffer_.get(); }
    std::shared_ptr<Buffer> get_device_buffer(size_t index) const;

    MeshBuffer(std::shared_ptr<MeshDevice> mesh_device, DeviceAddr size, DeviceAddr address);

private:
    std::shared_ptr<MeshDevice> mesh_device_;
    DeviceAddr size_;
    DeviceAddr address_;
    std::shared_ptr<Buffer> backing_buffer_;
    std::vector<std::shared_ptr<Buffer>> buffers_;
};

}  // namespace tt::tt_metal::distributed
