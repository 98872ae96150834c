// The host's price of memory a process has not touched before: the first write to each page of 256 MiB of fresh
// anonymous memory, on 4 KiB pages and on 2 MiB (transparent huge) pages, the median of 3 tries each, in microseconds
// per 4 KiB. A fresh process's snapshot load pays this for every page it allocates (bench/run-load-build.sh prints it
// beside the load figures): on bare metal it is the kernel zeroing a page, well under a microsecond; on a virtual
// machine whose host backs guest memory lazily it can be tens of times that.
// Build: gcc -O2 -o first-touch bench/first-touch.c. Prints: <us per 4 KiB, 4 KiB pages> <us per 4 KiB, 2 MiB pages>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

enum { Tries = 3 };
static const size_t Bytes = (size_t)256 << 20, HugePage = (size_t)2 << 20, Page = 4096;

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double microseconds_per_page(int advice)
{
    // Over-allocated by a huge page, so that the touched range can start on a 2 MiB boundary.
    char *mapping = mmap(NULL, Bytes + HugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) { perror("mmap"); exit(1); }
    char *start = (char *)(((size_t)mapping + HugePage - 1) & ~(HugePage - 1));
    madvise(start, Bytes, advice);
    double begin = seconds();
    for (size_t offset = 0; offset < Bytes; offset += Page) start[offset] = 1;
    double elapsed = seconds() - begin;
    munmap(mapping, Bytes + HugePage);
    return elapsed * 1e6 / (Bytes / Page);
}

static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of_tries(int advice)
{
    double tries[Tries];
    for (int i = 0; i < Tries; i++) tries[i] = microseconds_per_page(advice);
    qsort(tries, Tries, sizeof tries[0], ascending);
    return tries[Tries / 2];
}

int main(void)
{
    double small = median_of_tries(MADV_NOHUGEPAGE);
    double huge = median_of_tries(MADV_HUGEPAGE);
    printf("%.2f %.2f\n", small, huge);
    return 0;
}
