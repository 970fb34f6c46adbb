// Emulated tt-metal: the Buffer getters that are out of line (exported) in
// some generations only; the others are header-inline (tt-metalium/buffer.hpp).
#include <tt-metalium/buffer.hpp>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/buffer_impl.hpp>

namespace tt::tt_metal {

#if TTEMU_ALLOCATOR_VIEW
// The AllocatorImpl's view, not the AllocatorImpl (as upstream).
Allocator* Buffer::allocator() const { return state().allocator_->view().get(); }
#elif TTEMU_BUFFER_ALLOCATOR_EXPORTED
DeviceAllocator* Buffer::allocator() const { return state().allocator_; }
#endif

#if TTEMU_BUFFER_PIMPL
IDevice* Buffer::device() const { return impl_->device_; }
DeviceAddr Buffer::size() const { return impl_->size_; }
BufferType Buffer::buffer_type() const { return impl_->buffer_type_; }
TensorMemoryLayout Buffer::buffer_layout() const { return impl_->buffer_layout_; }
size_t Buffer::unique_id() const { return impl_->unique_id_; }
const BufferImpl& Buffer::impl() const { return *impl_; }
BufferImpl& Buffer::impl() { return *impl_; }
#endif

}  // namespace tt::tt_metal
