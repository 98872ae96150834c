// The machine's floor for a graph search's memory reads: the time to read whole rows of R bytes picked at random
// from a table of N rows, one thread, each row's reads asked for G rows ahead (software prefetch of its first line,
// or of every line), the rows summed with AVX-512 so that every byte is loaded. No search can read its visited
// vectors faster than this, unless they are in cache for another reason (a locality-aware layout, hot nodes near the
// entry point): it is the yardstick for "ns per distance" in bench/results (bench/run-row-floor.sh).
//
// usage: row-reads ROWS ROW_BYTES HUGE_PAGES(0|1) [READS]
// prints one line: rows, bytes, pages, best ns per row and GB/s, and the prefetch that gave it.
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float read_rows(const char *table, const uint32_t *order, long reads, long row_bytes, int ahead, int every_line)
{
    __m512 sum = _mm512_setzero_ps();
    for (long i = 0; i < reads; i++)
    {
        if (i + ahead < reads)
        {
            const char *next = table + (size_t)order[i + ahead] * row_bytes;
            if (every_line)
                for (long offset = 0; offset < row_bytes; offset += 64) _mm_prefetch(next + offset, _MM_HINT_T0);
            else
                _mm_prefetch(next, _MM_HINT_T0);
        }
        const float *row = (const float *)(table + (size_t)order[i] * row_bytes);
        long floats = row_bytes / 4, f = 0;
        for (; f + 16 <= floats; f += 16) sum = _mm512_add_ps(sum, _mm512_loadu_ps(row + f));
        if (f < floats) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps((__mmask16)((1u << (floats - f)) - 1), row + f));
    }
    return _mm512_reduce_add_ps(sum);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: row-reads ROWS ROW_BYTES HUGE_PAGES(0|1) [READS]\n"); return 2; }
    long rows = atol(argv[1]), row_bytes = atol(argv[2]);
    int huge = atoi(argv[3]);
    long reads = argc > 4 ? atol(argv[4]) : (rows > 1000000 ? rows : 1000000);
    if (rows < 1 || row_bytes < 4 || row_bytes % 4 != 0 || reads < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    size_t page = 2u << 20, bytes = ((size_t)rows * row_bytes + page - 1) / page * page;
    char *table = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (table == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(table, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    memset(table, 1, bytes);
    uint32_t *order = malloc(reads * sizeof *order);
    uint64_t state = 0x9E3779B97F4A7C15u;
    for (long i = 0; i < reads; i++)
    {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        order[i] = (uint32_t)(state % (uint64_t)rows);
    }
    static const int aheads[] = {1, 2, 4, 8, 16};
    double best = 1e30; int best_ahead = 0, best_every = 0; float sink = 0;
    for (int every = 0; every < 2; every++)
        for (int a = 0; a < 5; a++)
            for (int rep = 0; rep < 3; rep++)
            {
                double start = seconds();
                sink += read_rows(table, order, reads, row_bytes, aheads[a], every);
                double took = seconds() - start;
                if (took < best) { best = took; best_ahead = aheads[a]; best_every = every; }
            }
    printf("%ld\t%ld\t%s\t%.1f\t%.2f\t%d ahead, %s\t%g\n", rows, row_bytes, huge ? "2 MiB" : "4 KiB", best / reads * 1e9,
           (double)reads * row_bytes / best / 1e9, best_ahead, best_every ? "every line" : "first line", sink * 0);
    return 0;
}
