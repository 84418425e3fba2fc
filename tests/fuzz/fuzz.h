/* What every fuzz harness shares: libFuzzer's entry point, and CHECK, which
 * turns a broken invariant into an abort that libFuzzer reports as a
 * crash, with the file, line and condition. */
#ifndef NHI_FUZZ_H
#define NHI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
