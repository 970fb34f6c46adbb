// Drives the stand-in runtime: three buffers (one freed), then exits.  errno
// is set before every call and must be unchanged after it: the first calls
// run ttmem's lazy start-up (file I/O, dlsym), the likeliest to clobber it.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

extern "C" void* fake_allocate(int chip, uint64_t address, uint64_t size, int type);
extern "C" void fake_free(void* b);
extern "C" void* fake_sysmem();
extern "C" void fake_sysmem_destroy(void* s);

static int errno_kept = 1;

static void check(int expect) {
    if (errno != expect) errno_kept = 0;
}

// --owners: a memory manager whose constructor allocates two buffers and
// builds a command queue (one more buffer) in between; then an application
// buffer; then the manager is destroyed (it deletes its queue), reporting
// nothing.
static int owners() {
    void* s = fake_sysmem();
    fake_allocate(0, 0x60000, 2048 * 3, 0);
    fake_sysmem_destroy(s);
    std::puts("owners done");
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--owners") return owners();
    errno = 4242;
    void* a = fake_allocate(0, 0x100000000ull + 0x1000, 8192, 0);  // high bits: lost
    check(4242);
    errno = 77;
    fake_allocate(1, 0x3000, 4096, 1);
    check(77);
    void* c = fake_allocate(0, 0x9000, 2048, 0);
    errno = 5;
    fake_free(c);
    check(5);
    (void)a;
    std::puts(errno_kept ? "fake runtime done" : "fake runtime done, errno changed");
    return 0;
}
