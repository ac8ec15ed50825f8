/* Generic recursion for one dtype (T, suffix @S@): C = alpha * A B + beta * C with beta 0 or 1,
 * row-major strided views, products of a level accumulated straight into C where possible. */

static void gemm_@S@(idx M, idx K, idx N, T alpha, const T *A, idx lda, const T *B, idx ldb,
                     int beta, T *C, idx ldc)
{
#ifdef SKIP_LEAVES
    return;  /* the additions-only diagnostic build: no leaf products */
#endif
    if (M == 0 || N == 0)
        return;
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, lda > 1 ? lda : 1,
         B, ldb > 1 ? ldb : 1, (T)beta, C, ldc > 1 ? ldc : 1);
}

static void mm_@S@(int lev, int par, idx M, idx K, idx N, T alpha, const T *A, idx lda,
                   const T *B, idx ldb, int beta, T *C, idx ldc, T *ws);

typedef struct {
    int lev, par; idx M, K, N; T alpha; const T *A; idx lda; const T *B; idx ldb;
    int beta; T *C; idx ldc; T *ws; int dest;
} job_@S@;

static void run_job_@S@(void *arg)
{
    job_@S@ *j = (job_@S@ *)arg;
    mm_@S@(j->lev, j->par, j->M, j->K, j->N, j->alpha, j->A, j->lda, j->B, j->ldb, j->beta,
           j->C, j->ldc, j->ws);
}

/* Two workers, each with its own workspace, take jobs from a shared counter until none are
 * left, so a worker slowed down by another process does not hold the other one back. */
typedef struct { job_@S@ *jobs; int count, next; } queue_@S@;
typedef struct { queue_@S@ *queue; T *ws; } worker_@S@;

static void work_@S@(void *arg)
{
    worker_@S@ *w = (worker_@S@ *)arg;
    for (;;) {
        const int i = __atomic_fetch_add(&w->queue->next, 1, __ATOMIC_RELAXED);
        if (i >= w->queue->count)
            return;
        w->queue->jobs[i].par = 0;
        w->queue->jobs[i].ws = w->ws;
        run_job_@S@(&w->queue->jobs[i]);
    }
}

/* Run jobs[0..count) in order, or with split parallelism on two workers (serial below), an
 * odd last job then split again.  Jobs run together must write disjoint memory. */
static void run_jobs_@S@(int par, job_@S@ *jobs, int count, T *ws, idx seq_ws)
{
    int i = 0;
    if ((par & PAR_SPLIT) && count >= 2) {
        queue_@S@ queue = {jobs, count - count % 2, 0};
        worker_@S@ w0 = {&queue, ws}, w1 = {&queue, ws + seq_ws};
        run2(work_@S@, &w0, work_@S@, &w1);
        i = queue.count;
    }
    for (; i < count; i++) {
        jobs[i].par = par;
        jobs[i].ws = ws;
        run_job_@S@(&jobs[i]);
    }
}

/* One level on dimensions divisible by (SN, SM, SP). */
static void level_@S@(int lev, int par, idx M, idx K, idx N, T alpha, const T *A, idx lda,
                      const T *B, idx ldb, int beta, T *C, idx ldc, T *ws)
{
    const idx mb = M / SN, kb = K / SM, nb = N / SP;
    T *TA = ws, *TB = TA + NTA * mb * kb, *X = TB + NTB * kb * nb, *sub = X + NX * mb * nb;
    const idx seq_ws = workspace(lev - 1, 0, mb, kb, nb);
    pass_t pa = {A, TA, mb, kb, lda, 0, mb * kb >= NT_MIN_ELEMS};
    pass_t pb = {B, TB, kb, nb, ldb, 0, kb * nb >= NT_MIN_ELEMS};
    if (NTA)
        run_pass(par, form_a_@S@, &pa);
    if (NTB)
        run_pass(par, form_b_@S@, &pb);

    job_@S@ jobs[RANK];
    for (int k = 0; k < RANK; k++) {
        const slot_t *s = &SLOTS[ORDER[k]];
        job_@S@ *j = &jobs[k];
        int ai = s->a.index, bi = s->b.index;
        j->lev = lev - 1; j->M = mb; j->K = kb; j->N = nb;
        j->alpha = alpha * (T)s->scale;
        j->A = s->a.kind ? TA + ai * mb * kb : A + (ai / SM) * mb * lda + (ai % SM) * kb;
        j->lda = s->a.kind ? kb : lda;
        j->B = s->b.kind ? TB + bi * kb * nb : B + (bi / SP) * kb * ldb + (bi % SP) * nb;
        j->ldb = s->b.kind ? nb : ldb;
        if (s->to_x) {
            j->C = X + s->dest * mb * nb; j->ldc = nb; j->beta = 0;
        } else {
            j->C = C + (s->dest / SP) * mb * ldc + (s->dest % SP) * nb; j->ldc = ldc;
        }
        j->dest = s->dest;
    }
    run_jobs_@S@(par, jobs, NMULTI, sub, seq_ws);
    int written[SN * SP];
    for (int d = 0; d < SN * SP; d++)
        written[d] = beta || COMBINE_WRITES[d];
    if (NX) {
        pass_t pc = {X, C, mb, nb, ldc, beta, mb * nb >= NT_MIN_ELEMS};
        run_pass(par, combine_@S@, &pc);
    }
    /* Products with one destination, in groups: a pair with distinct destinations when
     * splitting, else one job; each gets the beta its destination needs when it runs. */
    job_@S@ *single = jobs + NMULTI;
    int done[RANK] = {0};
    for (int k = 0; k < RANK - NMULTI; k++) {
        if (done[k])
            continue;
        job_@S@ group[2] = {single[k]};
        int size = 1;
        done[k] = 1;
        for (int q = k + 1; (par & PAR_SPLIT) && q < RANK - NMULTI; q++) {
            if (!done[q] && single[q].dest != single[k].dest) {
                group[size++] = single[q];
                done[q] = 1;
                break;
            }
        }
        for (int g = 0; g < size; g++) {
            group[g].beta = written[group[g].dest];
            written[group[g].dest] = 1;
        }
        run_jobs_@S@(par, group, size, sub, seq_ws);
    }
}

static void mm_@S@(int lev, int par, idx M, idx K, idx N, T alpha, const T *A, idx lda,
                   const T *B, idx ldb, int beta, T *C, idx ldc, T *ws)
{
    if (M == 0 || N == 0)
        return;
    if (is_leaf(lev, M, K, N)) {
        gemm_@S@(M, K, N, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const idx Mc = M - M % SN, Kc = K - K % SM, Nc = N - N % SP;
    level_@S@(lev, par, Mc, Kc, Nc, alpha, A, lda, B, ldb, beta, C, ldc, ws);
    if (Kc < K)
        gemm_@S@(Mc, K - Kc, Nc, alpha, A + Kc, lda, B + Kc * ldb, ldb, 1, C, ldc);
    if (Mc < M)
        gemm_@S@(M - Mc, K, N, alpha, A + Mc * lda, lda, B, ldb, beta, C + Mc * ldc, ldc);
    if (Nc < N)
        gemm_@S@(Mc, K, N - Nc, alpha, A, lda, B + Nc, ldb, beta, C + Nc, ldc);
}

void bl_matmul_@S@(int levels, int threads, int split, idx M, idx K, idx N, const T *A, idx lda,
                   const T *B, idx ldb, T *C, idx ldc, T *ws)
{
    /* Never both: either our two threads over single-threaded BLAS, or one thread of control
     * over threaded BLAS (idle BLAS workers spin, and would fight our threads for the cores). */
    const int split_here = threads > 1 && split && !is_leaf(levels, M, K, N);
    const int par = split_here ? PAR_SPLIT | PAR_PASS : 0;
    set_blas_threads(par ? 1 : (threads > 1 ? threads : 1));
    mm_@S@(levels, par, M, K, N, (T)1, A, lda, B, ldb, 0, C, ldc, ws);
}

void bl_gemm_@S@(int threads, idx M, idx K, idx N, const T *A, idx lda, const T *B, idx ldb,
                 T *C, idx ldc)
{
    set_blas_threads(threads > 1 ? threads : 1);
    gemm_@S@(M, K, N, (T)1, A, lda, B, ldb, 0, C, ldc);
}
