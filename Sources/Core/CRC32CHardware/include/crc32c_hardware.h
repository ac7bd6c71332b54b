#ifndef FAULTLINE_CRC32C_HARDWARE_H
#define FAULTLINE_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction (x86-64 SSE 4.2), else 0.
int faultline_crc32c_hardware_available(void);

/// The raw CRC-32C register update over `count` bytes (no pre- or post-inversion: the caller
/// inverts, as the table-driven code does). Only call when the hardware is available.
uint32_t faultline_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count);

#endif
