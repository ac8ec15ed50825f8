/* Scheme-dependent but dtype-independent part: recursion stop rule and workspace size. */

static int is_leaf(int lev, idx M, idx K, idx N)
{
    return lev <= 0 || M < SN || K < SM || N < SP;
}

/* Workspace (in elements) of a call with lev levels; par as in mm_*. */
static idx workspace(int lev, int par, idx M, idx K, idx N)
{
    if (is_leaf(lev, M, K, N))
        return 0;
    idx mb = M / SN, kb = K / SM, nb = N / SP;
    idx here = NTA * mb * kb + NTB * kb * nb + NX * mb * nb;
    idx seq = workspace(lev - 1, 0, mb, kb, nb);
    if (!(par & PAR_SPLIT))
        return here + seq;
    idx split = workspace(lev - 1, par, mb, kb, nb);
    return here + (2 * seq > split ? 2 * seq : split);
}

int64_t bl_workspace(int levels, int split, int64_t M, int64_t K, int64_t N)
{
    return workspace(levels, split ? PAR_SPLIT | PAR_PASS : 0, M, K, N);
}
