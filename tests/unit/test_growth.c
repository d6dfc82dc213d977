/* test_growth.c - analyze/growth.c: the statistics on synthetic series (Kendall tau and the
 * Mann-Kendall Z against hand-computed values, Theil-Sen through outliers, the verdict on growing,
 * staircase, late, levelling, returning and pure-noise series), and the windows of a log written
 * with the real writer: 32..64 windows of equal width however long the log, live bytes at the end
 * exact, the leaking size class first, a log without times giving no bytes per hour. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../analyze/growth.h"
#include "unit.h"

/* uniform noise in [-a, a) */
static double noise(double a)
{
    return a * ((double)(rnd() % 2000001) / 1000000.0 - 1.0);
}

static void test_kendall(void **state)
{
    (void)state;
    double up[10], down[10], flat[10], z;
    for (int i = 0; i < 10; i++) {
        up[i] = i * 3;
        down[i] = 100 - i;
        flat[i] = 7;
    }
    assert_true(fabs(growth_kendall(up, 10, &z) - 1.0) < 1e-12);
    /* S = 45, var = 10*9*25/18 = 125, Z = (45 - 1) / sqrt(125) */
    assert_true(fabs(z - 44.0 / sqrt(125.0)) < 1e-9);
    assert_true(fabs(growth_kendall(down, 10, &z) + 1.0) < 1e-12);
    assert_true(z < -3);
    assert_true(growth_kendall(flat, 10, &z) == 0 && z == 0);
    /* ties: 1 1 2 2 -> S = 4, tau-b = 4 / sqrt(6 * 4) */
    double t[4] = {1, 1, 2, 2};
    assert_true(fabs(growth_kendall(t, 4, NULL) - 4.0 / sqrt(24.0)) < 1e-12);
    assert_true(growth_kendall(t, 1, &z) == 0 && z == 0);
}

static void test_theil_sen(void **state)
{
    (void)state;
    double x[21], y[21];
    for (int i = 0; i < 21; i++) {
        x[i] = i;
        y[i] = 3 * i + 1;
    }
    y[4] = 1e9; /* outliers move the least-squares slope, not the median one */
    y[15] = -1e9;
    assert_true(fabs(growth_theil_sen(x, y, 21) - 3.0) < 1e-12);
    double x2[3] = {5, 5, 5}, y2[3] = {1, 2, 3};
    assert_true(isnan(growth_theil_sen(x2, y2, 3)));
    assert_true(isnan(growth_theil_sen(x, y, 1)));
}

static int verdict(const double *y, int n)
{
    struct growth_judgement j;
    assert_int_equal(growth_judge(y, n, &j), 0);
    return j.verdict;
}

static void test_verdicts(void **state)
{
    (void)state;
    rng = 12345;
    double y[64];
    for (int n = 32; n <= 64; n += 32) {
        /* a leak: a steady rise under noise three times the step */
        for (int i = 0; i < n; i++)
            y[i] = 1000 + 100 * i + noise(300);
        assert_int_equal(verdict(y, n), GROWTH_GROWING);
        /* a staircase: 40 bytes every third window, flat between */
        for (int i = 0; i < n; i++)
            y[i] = 40.0 * (i / 3);
        assert_int_equal(verdict(y, n), GROWTH_GROWING);
        /* nothing, then a leak from halfway */
        for (int i = 0; i < n; i++)
            y[i] = i < n / 2 ? 0 : 40.0 * (i - n / 2);
        assert_int_equal(verdict(y, n), GROWTH_GROWING);
        /* a cache: fills over the first quarter, then noise at its cap */
        for (int i = 0; i < n; i++)
            y[i] = (i < n / 4 ? 200000.0 * i / (n / 4) : 200000) + noise(5000);
        assert_int_equal(verdict(y, n), GROWTH_LEVELS_OFF);
        /* a block allocated once: 0 in the first window, then flat */
        for (int i = 0; i < n; i++)
            y[i] = i ? 65536 : 0;
        assert_int_equal(verdict(y, n), GROWTH_LEVELS_OFF);
        /* a saturating pool: 1 - exp(-i / 4) reaches 99% by the last half */
        for (int i = 0; i < n; i++)
            y[i] = floor(100000 * (1 - exp(-i / 4.0)));
        struct growth_judgement j;
        growth_judge(y, n, &j);
        assert_int_not_equal(j.verdict, GROWTH_GROWING);
        /* one step (a table resized once at three quarters of the run), or two: no trend */
        for (int i = 0; i < n; i++)
            y[i] = 1000 + (i >= 3 * n / 4 ? 5000 : 0) + noise(10);
        assert_int_equal(verdict(y, n), GROWTH_LEVELS_OFF);
        for (int i = 0; i < n; i++)
            y[i] = 1000.0 * (1 + (i >= 5 * n / 8) + (i >= 7 * n / 8));
        assert_int_equal(verdict(y, n), GROWTH_LEVELS_OFF);
        /* a step every sixteenth of the run: eight new highs in the last half */
        for (int i = 0; i < n; i++)
            y[i] = 1000.0 * (i / (n / 16));
        assert_int_equal(verdict(y, n), GROWTH_GROWING);
        /* a phase that rises and gives it all back */
        for (int i = 0; i < n; i++)
            y[i] = i < n / 2 ? 1000.0 * i : fmax(0, 1000.0 * (n - 2 * (i - n / 2) - n / 2));
        assert_int_equal(verdict(y, n), GROWTH_RETURNS);
        /* temporaries only: the floor stays at 0 */
        memset(y, 0, sizeof y);
        assert_int_equal(verdict(y, n), GROWTH_RETURNS);
    }
    /* pure noise: Z >= 3 one-sided is p ~ 0.0013; 2000 series may call a handful growing */
    int growing = 0;
    for (int k = 0; k < 2000; k++) {
        for (int i = 0; i < 48; i++)
            y[i] = 5000 + noise(1000);
        growing += verdict(y, 48) == GROWTH_GROWING;
    }
    assert_true(growing <= 12);
    struct growth_judgement j;
    assert_int_equal(growth_judge(y, 7, &j), -1);
    assert_int_equal(growth_last_from(48), 24);
    assert_int_equal(growth_last_from(20), 10);
    assert_int_equal(growth_last_from(12), 4);
}

/* A log of n iterations: a temporary 1000-byte block per iteration, a 24-byte block leaked every
 * 50th; times are 1 us per event, or none. Returns the bytes leaked. */
static uint64_t write_log(const char *path, uint64_t n, int times)
{
    struct mlg_header h = {0};
    h.version = MLG_FORMAT_VERSION;
    h.pid = 77;
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_writer_options opt = {.zstd_level = 1};
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    uint64_t index = 0, seq = 0, leaked = 0, leak_ptr = 0x10000000;
    for (uint64_t i = 0; i < n; i++) {
        struct mlg_event ev[3];
        int k = 0;
        uint64_t t = times ? index * 1000 + 1 : 0;
        ev[k++] = unit_event(&index, &seq, t, MLG_OP_MALLOC, 0, 0x5000, 0, 1000, MLG_OUT_OK);
        ev[k++] = unit_event(&index, &seq, t, MLG_OP_FREE, 0, 0x5000, 0, 0, MLG_OUT_OK);
        if (i % 50 == 49) {
            ev[k++] = unit_event(&index, &seq, t, MLG_OP_MALLOC, 0, leak_ptr, 0, 24, MLG_OUT_OK);
            leak_ptr += 32;
            leaked += 24;
        }
        for (int e = 0; e < k; e++)
            assert_int_equal(mlg_writer_add(w, &ev[e], &err), 0);
    }
    struct mlg_trailer tr = {0};
    tr.end = MLG_END_EXIT;
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
    return leaked;
}

static void test_log_windows(void **state)
{
    (void)state;
    const uint64_t lengths[] = {600, 5000, 200000};
    for (int t = 0; t < 3; t++) {
        const char *path = tmp_path("growth.mlog");
        uint64_t leaked = write_log(path, lengths[t], 1);
        struct growth g = {0};
        assert_int_equal(growth_run(&g, path), 0);
        assert_int_equal(g.err.code, 0);
        assert_true(g.nwin >= GROWTH_WINDOWS / 2 && g.nwin <= GROWTH_WINDOWS);
        assert_int_equal(g.width & (g.width - 1), 0); /* a power of two */
        uint64_t covered = 0;
        for (int w = 0; w < g.nwin; w++) {
            assert_int_equal(g.win[w].first_event, covered);
            uint64_t len = g.win[w].last_event - g.win[w].first_event + 1;
            if (w < g.nwin - 1)
                assert_int_equal(len, g.width);
            else
                assert_true(len <= g.width);
            covered += len;
        }
        assert_int_equal(covered, g.events);
        assert_int_equal(growth_rank(&g), 0);
        assert_false(g.by_site);
        assert_string_equal(g.groups[0].name, "16..31 B");
        assert_int_equal(g.groups[0].j.verdict, GROWTH_GROWING);
        assert_int_equal(g.groups[0].live_bytes, leaked);
        assert_int_equal(g.groups[0].live_blocks, leaked / 24);
        assert_int_equal(g.groups[0].oldest[0].event, 49 * 2 + 2); /* the first leak */
        assert_true(g.groups[0].per_million > 0 && g.has_times && g.groups[0].per_hour > 0);
        /* 24 bytes every 101 events: bytes per million events within 2% (10% when a window
         * holds only a few leaks: the floors move in steps of 24 bytes) */
        double tol = g.width > 100 * 101 ? 0.02 : 0.1;
        assert_true(fabs(g.groups[0].per_million - 24e6 / 101) < tol * 24e6 / 101);
        /* 1 us per event: 24 bytes per 101 us */
        assert_true(fabs(g.groups[0].per_hour - 24 * 3.6e9 / 101) < tol * 24 * 3.6e9 / 101);
        assert_string_equal(g.groups[1].name, "512..1023 B");
        assert_int_equal(g.groups[1].j.verdict, GROWTH_RETURNS);
        assert_int_equal(g.groups[2].allocs, 0);
        growth_free(&g);
    }
    /* no times: bytes per hour is not given, and says why */
    const char *path = tmp_path("growth_notimes.mlog");
    write_log(path, 5000, 0);
    struct growth g = {0};
    assert_int_equal(growth_run(&g, path), 0);
    assert_false(g.has_times);
    assert_string_equal(g.no_times_why, "the log has no times");
    growth_free(&g);
    /* too short: growth_report refuses (exit 2) */
    path = tmp_path("growth_short.mlog");
    write_log(path, 100, 1);
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(growth_report(path, &(struct growth_opts){0, 20}, out), 2);
    fclose(out);
}

int main(void)
{
    unit_tmpdir("growth");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kendall),
        cmocka_unit_test(test_theil_sen),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_log_windows),
    };
    return unit_done(cmocka_run_group_tests_name("growth", tests, NULL, NULL));
}
