// Drives the stand-in runtime: three buffers (one freed), then exits.
#include <cstdint>
#include <cstdio>

extern "C" void* fake_allocate(int chip, uint64_t address, uint64_t size, int type);
extern "C" void fake_free(void* b);

int main() {
    void* a = fake_allocate(0, 0x100000000ull + 0x1000, 8192, 0);  // high bits: lost
    fake_allocate(1, 0x3000, 4096, 1);
    void* c = fake_allocate(0, 0x9000, 2048, 0);
    fake_free(c);
    (void)a;
    std::puts("fake runtime done");
    return 0;
}
