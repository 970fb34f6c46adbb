/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE test support, shared by tests/shm and tests/viewer: a segment
 * claiming the largest geometry the layout allows (every capacity at its
 * TTMEM_MAX_*), as a sparse file holding nothing but a published header.
 * A reader that trusts the header's sizes would touch 4.4 GB; the tests
 * check it costs what was written.
 */
#ifndef TTMEM_TESTS_MAXSEG_H
#define TTMEM_TESTS_MAXSEG_H

/*
 * Create (or truncate) the file `path` and write that segment: the header
 * at offset 0, the file extended to the size it claims.  Returns 0, or
 * -errno with nothing promised about the file.  No test framework inside:
 * the caller asserts.
 */
int maxseg_write(const char *path);

#endif /* TTMEM_TESTS_MAXSEG_H */
