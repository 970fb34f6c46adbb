// Emulated tt-metal: distributed::MeshBuffer (see tt-metalium/mesh_buffer.hpp).
#include <tt-metalium/mesh_buffer.hpp>

#include <stdexcept>

#include <tt-metalium/mesh_device.hpp>

namespace tt::tt_metal::distributed {

MeshBuffer::MeshBuffer(std::shared_ptr<MeshDevice> mesh_device, DeviceAddr size, DeviceAddr address) :
    mesh_device_(std::move(mesh_device)), size_(size), address_(address) {}

std::shared_ptr<MeshBuffer> MeshBuffer::create(
    const ReplicatedBufferConfig& mesh_buffer_config,
    const DeviceLocalBufferConfig& local,
    MeshDevice* mesh_device,
    std::optional<DeviceAddr> address) {
    if (mesh_device == nullptr) throw std::runtime_error("MeshBuffer: no mesh device");
    std::shared_ptr<Buffer> backing;
    if (!address) {
        backing = Buffer::create(
            mesh_device, mesh_buffer_config.size, local.page_size, local.buffer_type, local.sharding_args,
            local.bottom_up, local.sub_device_id);
        address = backing->address();
    }
    auto mesh_buffer = std::make_shared<MeshBuffer>(mesh_device->shared_from_this(), mesh_buffer_config.size, *address);
    mesh_buffer->backing_buffer_ = std::move(backing);
    for (IDevice* chip : mesh_device->get_devices())
        mesh_buffer->buffers_.push_back(Buffer::create(
            chip, *address, mesh_buffer_config.size, local.page_size, local.buffer_type, local.sharding_args,
            local.bottom_up, local.sub_device_id));
    return mesh_buffer;
}

MeshBuffer::~MeshBuffer() = default;

bool MeshBuffer::is_allocated() const { return backing_buffer_ ? backing_buffer_->is_allocated() : !buffers_.empty(); }

void MeshBuffer::deallocate() {
    buffers_.clear();
    backing_buffer_.reset();
}

std::shared_ptr<Buffer> MeshBuffer::get_device_buffer(size_t index) const {
    return index < buffers_.size() ? buffers_[index] : nullptr;
}

}  // namespace tt::tt_metal::distributed
