/* crc32c.h - CRC-32C (Castagnoli) over metadata frames; the zstd frames carry their own XXH64. */
#ifndef MLG_CRC32C_H
#define MLG_CRC32C_H
#include <stddef.h>
#include <stdint.h>
uint32_t mlg_crc32c(const void *data, size_t len);
#endif
