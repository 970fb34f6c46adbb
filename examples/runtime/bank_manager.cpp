// Emulated tt-metal: first-fit address ranges (see impl/bank_manager.hpp).
#include "impl/bank_manager.hpp"

#include <stdexcept>
#include <string>

namespace tt::tt_metal {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }
}  // namespace

BankManager::BankManager(uint64_t base, uint64_t limit, uint64_t alignment) :
    base_(align_up(base, alignment)), limit_(limit), alignment_(alignment) {
    if (limit_ < base_) limit_ = base_;
}

std::optional<uint64_t> BankManager::find(uint64_t size, bool bottom_up, uint64_t from) const {
    size = align_up(size, alignment_);
    const uint64_t lo = floor();
    if (size == 0 || size > limit_ - lo) return std::nullopt;
    if (bottom_up) {
        uint64_t a = align_up(from > lo ? from : lo, alignment_);
        // Start at the block below a: it may reach past a.
        auto it = used_.upper_bound(a);
        if (it != used_.begin()) --it;
        for (; it != used_.end(); ++it) {
            if (it->first + it->second <= a) continue;
            if (it->first >= a + size) break;
            a = align_up(it->first + it->second, alignment_);
        }
        if (a + size <= limit_) return a;
        return std::nullopt;
    }
    uint64_t top = from < limit_ ? from : limit_;
    if (top < lo + size) return std::nullopt;
    uint64_t a = align_down(top - size, alignment_);
    if (a < lo) return std::nullopt;
    auto it = used_.lower_bound(a + size);
    while (it != used_.begin()) {
        --it;
        if (it->first + it->second <= a) break;
        // Overlap: the hole must end at this block's start.
        if (it->first < lo + size) return std::nullopt;
        a = align_down(it->first - size, alignment_);
        if (a < lo) return std::nullopt;
        it = used_.lower_bound(a + size);
    }
    return a;
}

void BankManager::reserve(uint64_t addr, uint64_t size) {
    size = align_up(size, alignment_);
    if (addr < base_ || addr + size > limit_)
        throw std::runtime_error("BankManager: range outside the bank: " + std::to_string(addr));
    auto next = used_.lower_bound(addr);
    if (next != used_.end() && next->first < addr + size)
        throw std::runtime_error("BankManager: range already reserved at " + std::to_string(next->first));
    if (next != used_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second > addr)
            throw std::runtime_error("BankManager: range already reserved at " + std::to_string(prev->first));
    }
    used_.emplace(addr, size);
}

uint64_t BankManager::release(uint64_t addr) {
    auto it = used_.find(addr);
    if (it == used_.end()) return 0;
    uint64_t size = it->second;
    used_.erase(it);
    return size;
}

}  // namespace tt::tt_metal
