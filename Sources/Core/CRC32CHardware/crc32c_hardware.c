// CRC-32C with the CPU's own instruction (SSE 4.2 `crc32`): about ten times fewer instructions
// than the sliced table in LogStore/CRC32C.swift, which stays the fallback (and the reference
// the tests compare against). Swift cannot name the instruction, hence this small C target.
#include "crc32c_hardware.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int faultline_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t faultline_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t wide = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);  // unaligned load
        wide = _mm_crc32_u64(wide, word);
        p += 8;
        count -= 8;
    }
    uint32_t narrow = (uint32_t)wide;
    while (count > 0) {
        narrow = _mm_crc32_u8(narrow, *p);
        p += 1;
        count -= 1;
    }
    return narrow;
}

#else

int faultline_crc32c_hardware_available(void) { return 0; }

uint32_t faultline_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;  // never called: available() is 0
}

#endif
