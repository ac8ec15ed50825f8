/* Scheme-dependent but dtype-independent part: recursion stop rule and workspace size. */

static int is_leaf(int lev, idx M, idx K, idx N)
{
    return lev <= 0 || M < SN || K < SM || N < SP;
}

/* Workspace (in elements) of a call with lev levels; par as in mm_*.  Depth-first levels need
 * one A, B and product block each (those the scheme forms), so at most M K / SN SM + K N /
 * SM SP + M N / SN SP elements per level: for square 2x2 schemes under N^2 in all. */
static idx workspace(int lev, int par, idx M, idx K, idx N)
{
    if (is_leaf(lev, M, K, N))
        return 0;
    idx mb = M / SN, kb = K / SM, nb = N / SP;
    if (par & PAR_DEPTH)
        return DF_SA * mb * kb + DF_SB * kb * nb + DF_P * mb * nb
            + workspace(lev - 1, par, mb, kb, nb);
    idx here = NTA * mb * kb + NTB * kb * nb + NX * mb * nb;
    idx seq = workspace(lev - 1, 0, mb, kb, nb);
    if (!(par & PAR_SPLIT))
        return here + seq;
    idx split = workspace(lev - 1, par, mb, kb, nb);
    return here + (2 * seq > split ? 2 * seq : split);
}

/* The recursion's parallel flags (PAR_*) of a schedule (MODE_*) at a thread count. */
static int mode_par(int mode, int threads, int leaf)
{
    if (mode == MODE_DEPTH)
        return PAR_DEPTH | (threads > 1 ? PAR_PASS : 0);
    if ((mode == MODE_SPLIT || mode == MODE_HYBRID) && threads > 1 && !leaf)
        return PAR_SPLIT | PAR_PASS | (mode == MODE_HYBRID ? PAR_HYBRID : 0);
    return 0;
}

int64_t bl_workspace(int levels, int mode, int64_t M, int64_t K, int64_t N)
{
    return workspace(levels, mode_par(mode, 2, is_leaf(levels, M, K, N)), M, K, N);
}
