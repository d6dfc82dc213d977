/* crc32c.c - table-driven CRC-32C; metadata is small, so speed does not matter here. */
#include "crc32c.h"

uint32_t mlg_crc32c(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return crc ^ 0xffffffffu;
}
