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

/* Depth-first level: one product at a time, its operands formed just before its gemm and the
 * product added into its C blocks right after, so that near the leaves all a product touches
 * is still in cache; the workspace holds one A, B and product block (see workspace). */
typedef struct { int n; const T *in[DF_MAXT]; T c[DF_MAXT]; idx ld; T *out; idx ldo, cols; } lin_@S@;
typedef struct {
    int n; T *out[DF_MAXT]; T c[DF_MAXT]; int acc[DF_MAXT]; const T *in; idx ld, ldo, cols;
} scatter_@S@;

/* out = sum_t c_t in_t, rows [r0, r1) */
static inline __attribute__((always_inline)) void lin_body_@S@(const lin_@S@ *p, idx r0, idx r1)
{
    const idx cols = p->cols;
    for (idx i = r0; i < r1; i++) {
        T *restrict o = p->out + i * p->ldo;
        const T *restrict x = p->in[0] + i * p->ld;
        const T c0 = p->c[0];
        for (idx j = 0; j < cols; j++)
            o[j] = c0 * x[j];
        for (int t = 1; t < p->n; t++) {
            const T *restrict y = p->in[t] + i * p->ld;
            const T c = p->c[t];
            for (idx j = 0; j < cols; j++)
                o[j] += c * y[j];
        }
    }
}

/* out_t (+)= c_t in for every destination t (acc_t: add, else overwrite), rows [r0, r1) */
static inline __attribute__((always_inline)) void scatter_body_@S@(const scatter_@S@ *p, idx r0,
                                                                   idx r1)
{
    const idx cols = p->cols;
    for (idx i = r0; i < r1; i++) {
        const T *restrict x = p->in + i * p->ld;
        for (int t = 0; t < p->n; t++) {
            T *restrict o = p->out[t] + i * p->ldo;
            const T c = p->c[t];
            if (p->acc[t])
                for (idx j = 0; j < cols; j++)
                    o[j] += c * x[j];
            else
                for (idx j = 0; j < cols; j++)
                    o[j] = c * x[j];
        }
    }
}

ISA_DISPATCH(lin_rows_@S@, lin_body_@S@, lin_@S@)
ISA_DISPATCH(scatter_rows_@S@, scatter_body_@S@, scatter_@S@)

/* The operand of terms over the (rows x cols)-blocks of X (grid block columns): a block of X
 * itself when it is one term (its coefficient multiplied into *scale), else formed into out
 * (unless again: out holds it from the previous product). */
static const T *operand_@S@(int par, const terms_t *terms, int again, const T *X, idx ld,
                            int grid, idx rows, idx cols, T *out, T *scale, idx *ld_out)
{
    if (terms->n == 1) {
        *scale *= (T)terms->coeff[0];
        *ld_out = ld;
        return X + (terms->index[0] / grid) * rows * ld + (terms->index[0] % grid) * cols;
    }
    *ld_out = cols;
    if (!again) {
        lin_@S@ f = {.n = terms->n, .ld = ld, .out = out, .ldo = cols, .cols = cols};
        for (int t = 0; t < terms->n; t++) {
            f.in[t] = X + (terms->index[t] / grid) * rows * ld + (terms->index[t] % grid) * cols;
            f.c[t] = (T)terms->coeff[t];
        }
        run_rows(par, lin_rows_@S@, &f, rows, cols);
    }
    return out;
}

static void level_df_@S@(int lev, int par, idx M, idx K, idx N, T alpha, const T *A, idx lda,
                         const T *B, idx ldb, int beta, T *C, idx ldc, T *ws)
{
    const idx mb = M / SN, kb = K / SM, nb = N / SP;
    T *SA = ws, *SB = SA + DF_SA * mb * kb, *P = SB + DF_SB * kb * nb, *sub = P + DF_P * mb * nb;
    int written[SN * SP];
    for (int d = 0; d < SN * SP; d++)
        written[d] = beta;
    for (int r = 0; r < RANK; r++) {
        const df_slot_t *s = &DF_SLOTS[r];
        T scale = alpha;
        idx la, lb;
        const T *a = operand_@S@(par, &s->a, s->a_again, A, lda, SM, mb, kb, SA, &scale, &la);
        const T *b = operand_@S@(par, &s->b, s->b_again, B, ldb, SP, kb, nb, SB, &scale, &lb);
        if (s->c.n == 1) {
            const int d = s->c.index[0];
            mm_@S@(lev - 1, par, mb, kb, nb, scale * (T)s->c.coeff[0], a, la, b, lb, written[d],
                   C + (d / SP) * mb * ldc + (d % SP) * nb, ldc, sub);
            written[d] = 1;
            continue;
        }
        mm_@S@(lev - 1, par, mb, kb, nb, scale, a, la, b, lb, 0, P, nb, sub);
        scatter_@S@ g = {.n = s->c.n, .in = P, .ld = nb, .ldo = ldc, .cols = nb};
        for (int t = 0; t < s->c.n; t++) {
            const int d = s->c.index[t];
            g.out[t] = C + (d / SP) * mb * ldc + (d % SP) * nb;
            g.c[t] = (T)s->c.coeff[t];
            g.acc[t] = written[d];
            written[d] = 1;
        }
        run_rows(par, scatter_rows_@S@, &g, mb, nb);
    }
}

/* A gemm of the recursion: on 2-thread BLAS when the split recursion reaches it with the
 * other thread idle (PAR_HYBRID: a level's odd product, the fringes), else as the BLAS is set. */
static void leaf_@S@(int par, idx M, idx K, idx N, T alpha, const T *A, idx lda, const T *B,
                     idx ldb, int beta, T *C, idx ldc)
{
    if ((par & PAR_HYBRID) && (par & PAR_SPLIT)) {
        set_blas_threads(2);
        gemm_@S@(M, K, N, alpha, A, lda, B, ldb, beta, C, ldc);
        set_blas_threads(1);
        return;
    }
    gemm_@S@(M, K, N, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void mm_@S@(int lev, int par, idx M, idx K, idx N, T alpha, const T *A, idx lda,
                   const T *B, idx ldb, int beta, T *C, idx ldc, T *ws)
{
    if (M == 0 || N == 0)
        return;
    if (is_leaf(lev, M, K, N)) {
        leaf_@S@(par, M, K, N, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const idx Mc = M - M % SN, Kc = K - K % SM, Nc = N - N % SP;
    if (par & PAR_DEPTH)
        level_df_@S@(lev, par, Mc, Kc, Nc, alpha, A, lda, B, ldb, beta, C, ldc, ws);
    else
        level_@S@(lev, par, Mc, Kc, Nc, alpha, A, lda, B, ldb, beta, C, ldc, ws);
    if (Kc < K)
        leaf_@S@(par, Mc, K - Kc, Nc, alpha, A + Kc, lda, B + Kc * ldb, ldb, 1, C, ldc);
    if (Mc < M)
        leaf_@S@(par, M - Mc, K, N, alpha, A + Mc * lda, lda, B, ldb, beta, C + Mc * ldc, ldc);
    if (Nc < N)
        leaf_@S@(par, Mc, K, N - Nc, alpha, A, lda, B + Nc, ldb, beta, C + Nc, ldc);
}

void bl_matmul_@S@(int levels, int threads, int mode, idx M, idx K, idx N, const T *A, idx lda,
                   const T *B, idx ldb, T *C, idx ldc, T *ws)
{
    /* Never both: either our two threads over single-threaded BLAS, or one thread of control
     * over threaded BLAS (idle BLAS workers spin, and would fight our threads for the cores). */
    const int par = mode_par(mode, threads, is_leaf(levels, M, K, N));
    set_blas_threads((par & PAR_SPLIT) ? 1 : (threads > 1 ? threads : 1));
    mm_@S@(levels, par, M, K, N, (T)1, A, lda, B, ldb, 0, C, ldc, ws);
}

void bl_gemm_@S@(int threads, idx M, idx K, idx N, const T *A, idx lda, const T *B, idx ldb,
                 T *C, idx ldc)
{
    set_blas_threads(threads > 1 ? threads : 1);
    gemm_@S@(M, K, N, (T)1, A, lda, B, ldb, 0, C, ldc);
}
