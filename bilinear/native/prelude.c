/* Shared part of the generated kernel: BLAS entry points, a two-way fork-join helper and the
 * types of the scheme tables.  The scheme-specific tables and passes follow in generated code. */
#include <pthread.h>
#include <stdint.h>
#include <cblas.h>
#include <immintrin.h>

typedef int64_t idx;

/* One product of a level: its A and B operands (kind 0: block of the input, 1: temporary), the
 * scale folded into alpha, and its destination (an X temporary, or a C block). */
typedef struct { int kind, index; } ref_t;
typedef struct { ref_t a, b; double scale; int to_x, dest; } slot_t;

/* Arguments of a row-range addition pass over rows x cols blocks; nt: streaming (non-temporal)
 * stores, for blocks too large to stay in cache until they are read again. */
typedef struct { const void *in; void *out; idx rows, cols, ld; int acc, nt; } pass_t;
#define NT_MIN_ELEMS (1 << 18)

/* split products over 2 threads; split passes by rows; depth-first levels (level_df_*) */
enum { PAR_SPLIT = 1, PAR_PASS = 2, PAR_DEPTH = 4, PAR_HYBRID = 8 };
/* schedules of bl_matmul_*: breadth-first over threaded BLAS, breadth-first with the products
 * split over two threads, depth-first (passes split over the threads, threaded BLAS leaves) */
enum { MODE_BREADTH = 0, MODE_SPLIT = 1, MODE_DEPTH = 2, MODE_HYBRID = 3 };
#define PASS_MIN_ELEMS 65536          /* smaller passes are not worth a thread */

/* Widest addition loops the CPU runs (0: baseline, 1: AVX2, 2: AVX-512F), found at load time:
 * the build itself targets a portable baseline, so its bytes do not depend on the CPU. */
static int ISA_SUPPORTED, ISA_LEVEL;

__attribute__((constructor)) static void detect_isa(void)
{
    __builtin_cpu_init();
    ISA_SUPPORTED = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    ISA_LEVEL = ISA_SUPPORTED;
}

/* Use the addition loops of level (clamped to what the CPU supports; < 0: the widest);
 * returns the level in use. */
int bl_set_isa(int level)
{
    ISA_LEVEL = level < 0 || level > ISA_SUPPORTED ? ISA_SUPPORTED : level;
    return ISA_LEVEL;
}

static void set_blas_threads(int n)
{
    scipy_openblas_set_num_threads64_(n);
}

typedef struct { void (*fn)(void *); void *arg; } task_t;

static void *trampoline(void *t)
{
    task_t *task = (task_t *)t;
    task->fn(task->arg);
    return NULL;
}

/* Run f0(a0) on the calling thread and f1(a1) on a new one; serial if no thread can start. */
static void run2(void (*f0)(void *), void *a0, void (*f1)(void *), void *a1)
{
    pthread_t th;
    task_t t1 = {f1, a1};
    if (pthread_create(&th, NULL, trampoline, &t1) != 0) {
        f0(a0);
        f1(a1);
        return;
    }
    f0(a0);
    pthread_join(th, NULL);
}

typedef struct { void (*fn)(const pass_t *, idx, idx); const pass_t *p; idx r0, r1; } range_t;

static void run_range(void *a)
{
    range_t *r = (range_t *)a;
    r->fn(r->p, r->r0, r->r1);
}

static void run_pass(int par, void (*fn)(const pass_t *, idx, idx), const pass_t *p)
{
    if ((par & PAR_PASS) && p->rows >= 2 && p->rows * p->cols >= PASS_MIN_ELEMS) {
        range_t lo = {fn, p, 0, p->rows / 2}, hi = {fn, p, p->rows / 2, p->rows};
        run2(run_range, &lo, run_range, &hi);
    } else {
        fn(p, 0, p->rows);
    }
}


/* Generic row-range work (the depth-first passes): fn(p, r0, r1) over rows [0, rows), split in
 * two halves on two threads when par allows it and the pass is large enough. */
typedef struct { void (*fn)(const void *, idx, idx); const void *p; idx r0, r1; } rows_t;

static void run_rows_part(void *a)
{
    rows_t *r = (rows_t *)a;
    r->fn(r->p, r->r0, r->r1);
}

static void run_rows(int par, void (*fn)(const void *, idx, idx), const void *p, idx rows,
                     idx cols)
{
    if ((par & PAR_PASS) && rows >= 2 && rows * cols >= PASS_MIN_ELEMS) {
        rows_t lo = {fn, p, 0, rows / 2}, hi = {fn, p, rows / 2, rows};
        run2(run_rows_part, &lo, run_rows_part, &hi);
    } else {
        fn(p, 0, rows);
    }
}

/* fn(const type *, r0, r1) dispatching on ISA_LEVEL to copies of body (an always_inline
 * function of no target) compiled for AVX-512F, AVX2 and the baseline. */
#define ISA_DISPATCH(fn, body, type)                                                       \
    __attribute__((target("avx512f"))) static void fn##_avx512(const type *p, idx r0, idx r1) \
    { body(p, r0, r1); }                                                                   \
    __attribute__((target("avx2,fma"))) static void fn##_avx2(const type *p, idx r0, idx r1)  \
    { body(p, r0, r1); }                                                                   \
    static void fn(const void *v, idx r0, idx r1)                                          \
    {                                                                                       \
        const type *p = (const type *)v;                                                   \
        if (ISA_LEVEL >= 2) fn##_avx512(p, r0, r1);                                         \
        else if (ISA_LEVEL == 1) fn##_avx2(p, r0, r1);                                      \
        else body(p, r0, r1);                                                               \
    }
