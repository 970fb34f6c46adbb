// Emulated tt-metal, private: one address range of one bank type.
//
// Every bank of a type holds the same layout (upstream interleaves a buffer
// page by page over all banks, so one address is reserved in every bank at
// once); a BankManager therefore tracks one range for all banks of a type.
// Not thread-safe: the owning Allocator holds its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace tt::tt_metal {

class BankManager {
public:
    BankManager() = default;
    // Addresses handed out are in [base, limit) and multiples of alignment.
    BankManager(uint64_t base, uint64_t limit, uint64_t alignment);

    // First fit.  bottom_up: the lowest address >= from where `size` bytes
    // fit; otherwise the highest address whose end is <= from.  Returns
    // nothing when no hole fits.
    std::optional<uint64_t> find(uint64_t size, bool bottom_up, uint64_t from) const;
    std::optional<uint64_t> find(uint64_t size, bool bottom_up) const {
        return find(size, bottom_up, bottom_up ? base_ : limit_);
    }
    // Pairs with release().  The range must be free (checked: throws).
    void reserve(uint64_t addr, uint64_t size);
    // Returns the size that was reserved at addr, 0 when nothing was.
    uint64_t release(uint64_t addr);
    void release_all() { used_.clear(); }

    // Lowest reserved address, or limit when empty.
    uint64_t lowest_used() const { return used_.empty() ? limit_ : used_.begin()->first; }
    uint64_t base() const { return base_; }
    uint64_t limit() const { return limit_; }
    uint64_t alignment() const { return alignment_; }
    // Raises the lowest address bottom-up searches may return (circular
    // buffers grow up from the base of L1).
    void set_floor(uint64_t floor) { floor_ = floor; }
    uint64_t floor() const { return floor_ > base_ ? floor_ : base_; }
    // Calls fn(address, size) for every hole in [floor(), limit), in
    // address order: what find() can still hand out (a hole is counted
    // whole, alignment aside, as upstream's free-block statistics do).
    template <class Fn>
    void each_hole(Fn fn) const {
        uint64_t at = floor();
        for (const auto& [addr, size] : used_) {
            if (addr + size <= at) continue;
            if (addr > at) fn(at, addr - at);
            at = addr + size;
        }
        if (limit_ > at) fn(at, limit_ - at);
    }

private:
    uint64_t base_ = 0;
    uint64_t limit_ = 0;
    uint64_t alignment_ = 1;
    uint64_t floor_ = 0;
    std::map<uint64_t, uint64_t> used_;  // address -> reserved bytes per bank
};

}  // namespace tt::tt_metal
