/* fuzz_pack.c - libFuzzer target: the spool packer (mlg_pack_spool) on a spool built from the
 * input, and the log it writes read back.
 *
 * A real spool is 64 KiB chunks in a file of 16 MiB windows; an input that size would be useless
 * to a fuzzer. So the input is laid out into a sparse spool file: its first 128 bytes overlay the
 * header from end_set on (end, lost events, counters, the fields a crash leaves in any state), the
 * magic, version and sizes being set here; the rest is cut at each "CHNK" (the chunk magic) and
 * piece k is written at the start of chunk k + 1, magic included, the remainder of the chunk
 * staying zeros as in a fresh file. Every log the packer writes must read back with no error and
 * hold the events the packer says it wrote.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

#include "../../lib/mallog.h"
#include "../../lib/spool.h"
#include "fuzz.h"

#define MAX_CHUNKS 64

static char dir[64], spool[96], out[96];

static void cleanup(void)
{
    unlink(spool);
    unlink(out);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0])
        return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/mallog-fuzz-pack.XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    snprintf(spool, sizeof spool, "%s/x.spool", dir);
    snprintf(out, sizeof out, "%s/x.mlog", dir);
    atexit(cleanup);
}

static void write_spool(const uint8_t *data, size_t size)
{
    static uint8_t head[MLG_SPOOL_CHUNK];
    memset(head, 0, sizeof head);
    struct mlg_spool_header *h = (void *)head;
    memcpy(h->magic, MLG_SPOOL_MAGIC, 8);
    h->version = MLG_SPOOL_VERSION;
    h->header_size = sizeof *h;
    h->chunk_size = MLG_SPOOL_CHUNK;
    h->window_size = MLG_SPOOL_WINDOW;
    h->pid = 4242;
    h->page_size = 4096;
    h->nproc = 2;
    size_t over = size < 128 ? size : 128;
    memcpy(head + offsetof(struct mlg_spool_header, end_set), data, over);
    data += over, size -= over;
    int fd = open(spool, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, head, sizeof head, 0) == (ssize_t)sizeof head);
    uint32_t chunk = 1;
    while (size && chunk <= MAX_CHUNKS) {
        const uint8_t *next = size > 4 ? memmem(data + 4, size - 4, "CHNK", 4) : NULL;
        size_t piece = next ? (size_t)(next - data) : size;
        size_t n = piece < MLG_SPOOL_CHUNK ? piece : MLG_SPOOL_CHUNK;
        CHECK(pwrite(fd, data, n, (off_t)chunk * MLG_SPOOL_CHUNK) == (ssize_t)n);
        data += piece, size -= piece;
        chunk++;
    }
    CHECK(ftruncate(fd, (off_t)chunk * MLG_SPOOL_CHUNK) == 0);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    write_spool(data, size);
    unlink(out);
    struct mlg_pack_result res;
    struct mlg_error err;
    struct mlg_writer_options opt = {1, 4096}; /* small frames: several per input */
    int rc = mlg_pack_spool(spool, out, -1, 0, &opt, &res, &err);
    if (rc == 0) {
        struct mlg_reader *r;
        struct mlg_error rerr;
        CHECK(mlg_reader_open(&r, out, NULL, &rerr) == 0);
        struct mlg_event ev;
        uint64_t n = 0;
        int k;
        while ((k = mlg_reader_next(r, &ev)) > 0)
            n++;
        if (k != 0) {
            char buf[256];
            fprintf(stderr, "fuzz_pack: packed log does not read: %s\n",
                    mlg_error_format(mlg_reader_error(r), buf, sizeof buf));
            abort();
        }
        CHECK(n == res.events);
        CHECK(mlg_reader_trailer(r) != NULL);
        mlg_reader_close(r);
        struct mlg_sites *s;
        CHECK(mlg_sites_load(&s, out, &rerr) == 0);
        mlg_sites_free(s);
    }
    unlink(out);
    return 0;
}
