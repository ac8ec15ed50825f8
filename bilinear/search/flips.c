/* Flip-graph random walk (Kauers and Moosbauer 2022) on schemes of one <n,m,p> format.
 *
 * Called from bilinear/search/flips.py, which documents the moves and the walk; every scheme it
 * returns is verified exactly in Python.  A product is three factors (roles 0, 1, 2: the A-, B-
 * and C-coefficients) of lengths n*m, m*p, n*p, stored as int16 entries within +-bound.  Each
 * factor carries a 64-bit hash of its sign-normalised value (first nonzero entry positive) and
 * the removed sign, so finding the products that share a factor is a scan of hashes.  The PRNG
 * is xoshiro256** seeded by splitmix64: a seed gives the same walk on every machine. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXL 64   /* longest factor */
#define MAXR 512  /* most products */

typedef struct {
    int len[3];
    int bound;
    int mod2;      /* 1: coefficients in GF(2) (entries 0/1, sums are xor) */
    int rank;
    int16_t v[MAXR][3][MAXL];
    uint64_t key[MAXR][3];
    int8_t sign[MAXR][3];
    uint64_t s[4];
} walk_t;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(walk_t *w) {
    uint64_t *s = w->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/* uniform integer in [0, n), by rejection (no modulo bias) */
static int below(walk_t *w, int n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n, r;
    do { r = next(w); } while (r >= limit);
    return (int)(r % (uint64_t)n);
}

/* x + s*y over the walk's ring (xor over GF(2), where -1 = 1); 0 if outside +-bound */
static int comb(const walk_t *w, int x, int y, int s, int16_t *out) {
    int z = w->mod2 ? (x ^ y) : x + s * y;
    if (z > w->bound || z < -w->bound) return 0;
    *out = (int16_t)z;
    return 1;
}

static void rekey(walk_t *w, int r, int role) {
    const int16_t *v = w->v[r][role];
    int n = w->len[role], t, sg = 1;
    for (t = 0; t < n && v[t] == 0; t++) {}
    if (t < n && v[t] < 0) sg = -1;
    uint64_t h = 0x84222325cbf29ce4ULL;
    for (t = 0; t < n; t++) {
        h ^= (uint64_t)(uint16_t)(int16_t)(sg * v[t]);
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    w->key[r][role] = h;
    w->sign[r][role] = (int8_t)sg;
}

static void rekey_all(walk_t *w, int r) { for (int k = 0; k < 3; k++) rekey(w, r, k); }

/* factor `role` of products a and b equal up to sign: the sign (a = sign * b), else 0 */
static int same(const walk_t *w, int a, int b, int role) {
    if (w->key[a][role] != w->key[b][role]) return 0;
    int sg = w->sign[a][role] * w->sign[b][role];
    const int16_t *u = w->v[a][role], *v = w->v[b][role];
    for (int t = 0; t < w->len[role]; t++)
        if (u[t] != sg * v[t]) return 0;
    return sg;
}

static int zero(const walk_t *w, int r, int role) {
    for (int t = 0; t < w->len[role]; t++)
        if (w->v[r][role][t]) return 0;
    return 1;
}

static void negate(walk_t *w, int r, int role) {
    for (int t = 0; t < w->len[role]; t++) w->v[r][role][t] = (int16_t)-w->v[r][role][t];
    w->sign[r][role] = (int8_t)-w->sign[r][role];
}

static void delete(walk_t *w, int r) {
    int last = --w->rank;
    if (r != last) {
        memcpy(w->v[r], w->v[last], sizeof w->v[r]);
        memcpy(w->key[r], w->key[last], sizeof w->key[r]);
        memcpy(w->sign[r], w->sign[last], sizeof w->sign[r]);
    }
}

/* one reduction involving product q (zero factor; or another product sharing two factors with
 * it, merged into q when the sum stays within the bound); 1 if one was made */
static int reduce_at(walk_t *w, int q) {
    for (int k = 0; k < 3; k++)
        if (zero(w, q, k)) { delete(w, q); return 1; }
    for (int t = 0; t < w->rank; t++) {
        if (t == q) continue;
        int s0 = same(w, t, q, 0), s1 = same(w, t, q, 1), keep;
        int sa, sb;
        if (s0 && s1) { keep = 2; sa = s0; sb = s1; }
        else {
            int s2 = same(w, t, q, 2);
            if (!s2 || !(s0 || s1)) continue;
            keep = s0 ? 1 : 0; sa = s0 ? s0 : s1; sb = s2;
        }
        /* t = (sa u) (x) (sb v) (x) c_t = u (x) v (x) (sa sb c_t) */
        int sg = sa * sb, n = w->len[keep], ok = 1;
        int16_t sum[MAXL];
        for (int i = 0; i < n && ok; i++)
            ok = comb(w, w->v[q][keep][i], w->v[t][keep][i], sg, &sum[i]);
        if (!ok) continue;
        memcpy(w->v[q][keep], sum, sizeof(int16_t) * n);
        rekey(w, q, keep);
        delete(w, t);
        return 1;
    }
    return 0;
}

/* all reductions, until none is left; the number made */
static int reduce_all(walk_t *w) {
    int made = 0, again = 1;
    while (again) {
        again = 0;
        for (int q = 0; q < w->rank; q++)
            if (reduce_at(w, q)) { made++; again = 1; break; }
    }
    return made;
}

/* one random flip; 1 if made.  Reductions it enables are applied; *reduced counts them. */
static int flip(walk_t *w, int *reduced) {
    int R = w->rank, i = -1, j = -1, role = 0, cand[MAXR];
    for (int tries = 0; tries < 4 * R + 16 && j < 0; tries++) {
        i = below(w, R);
        role = below(w, 3);
        int c = 0;
        for (int t = 0; t < R; t++)
            if (t != i && w->key[t][role] == w->key[i][role] && same(w, t, i, role)) cand[c++] = t;
        if (c) j = cand[below(w, c)];
    }
    if (j < 0) return 0;
    int a = (role + 1) % 3, b = (role + 2) % 3;
    if (same(w, i, j, role) < 0) { negate(w, j, role); negate(w, j, a); }
    if (next(w) >> 63) { int t = a; a = b; b = t; }
    int s = (next(w) >> 63) ? 1 : -1, n = w->len[a], m = w->len[b];
    int16_t na[MAXL], nb[MAXL];
    for (int t = 0; t < n; t++)   /* a_i + s a_j */
        if (!comb(w, w->v[i][a][t], w->v[j][a][t], s, &na[t])) return 0;
    for (int t = 0; t < m; t++)   /* b_j - s b_i */
        if (!comb(w, w->v[j][b][t], w->v[i][b][t], -s, &nb[t])) return 0;
    memcpy(w->v[i][a], na, sizeof(int16_t) * n);
    memcpy(w->v[j][b], nb, sizeof(int16_t) * m);
    rekey(w, i, a);
    rekey(w, j, b);
    if (reduce_at(w, i) || reduce_at(w, j)) *reduced += 1 + reduce_all(w);
    return 1;
}

/* one plus transition (rank + 1) on two random products; 1 if made */
static int plus(walk_t *w) {
    if (w->rank + 1 > MAXR || w->rank < 2) return 0;
    for (int tries = 0; tries < 64; tries++) {
        int i = below(w, w->rank), j = below(w, w->rank - 1);
        if (j >= i) j++;
        int a = below(w, 3), b = (a + 1 + below(w, 2)) % 3, c = 3 - a - b, ok = 1;
        int16_t d[MAXL], e[MAXL], f[MAXL];
        for (int t = 0; t < w->len[a] && ok; t++)
            ok = comb(w, w->v[i][a][t], w->v[j][a][t], -1, &d[t]);
        for (int t = 0; t < w->len[b] && ok; t++)
            ok = comb(w, w->v[i][b][t], w->v[j][b][t], -1, &e[t]);
        for (int t = 0; t < w->len[c] && ok; t++)
            ok = comb(w, w->v[i][c][t], w->v[j][c][t], 1, &f[t]);
        if (!ok) continue;
        /* (a_i - a_j, b_i, c_i) + (a_j, b_i - b_j, c_i) + (a_j, b_j, c_i + c_j) */
        int k = w->rank++;
        memcpy(w->v[k], w->v[j], sizeof w->v[k]);          /* (a_j, b_j, c_j) -> new third */
        memcpy(w->v[k][c], f, sizeof(int16_t) * w->len[c]);
        memcpy(w->v[j][b], e, sizeof(int16_t) * w->len[b]);   /* (a_j, b_i - b_j, c_i) */
        memcpy(w->v[j][c], w->v[i][c], sizeof(int16_t) * w->len[c]);
        memcpy(w->v[i][a], d, sizeof(int16_t) * w->len[a]);   /* (a_i - a_j, b_i, c_i) */
        rekey_all(w, i); rekey_all(w, j); rekey_all(w, k);
        return 1;
    }
    return 0;
}

static void copy_out(const walk_t *w, int16_t *out) {
    for (int r = 0; r < w->rank; r++)
        for (int k = 0; k < 3; k++) {
            memcpy(out, w->v[r][k], sizeof(int16_t) * w->len[k]);
            out += w->len[k];
        }
}

static void copy_in(walk_t *w, const int16_t *in, int rank) {
    w->rank = rank;
    for (int r = 0; r < rank; r++)
        for (int k = 0; k < 3; k++) {
            memcpy(w->v[r][k], in, sizeof(int16_t) * w->len[k]);
            in += w->len[k];
            rekey(w, r, k);
        }
}

/* The walk of flips.search.  start: `rank` products (rows of len0 + len1 + len2 entries); mod2:
 * 1 for a walk over GF(2) (entries 0/1); best and last: room for `rank` products (the first and
 * the latest scheme at the lowest rank reached); samples: room for samples * target products.
 * stats: flips, plus transitions, flip count at the target (-1: never), best rank, samples kept.
 * Returns 0, or -1 if the sizes are out of range. */
int bl_flip_walk(const int *lens, int rank, const int16_t *start, int target, uint64_t seed,
                 int64_t max_flips, int64_t plateau, int samples,
                 int64_t sample_every, int bound, int mod2, int16_t *best, int16_t *last,
                 int16_t *sample_out, int64_t *stats) {
    for (int k = 0; k < 3; k++)
        if (lens[k] < 1 || lens[k] > MAXL) return -1;
    if (rank < 1 || rank >= MAXR || bound < 1 || bound > 16000) return -1;
    walk_t *w = calloc(1, sizeof(walk_t));
    if (!w) return -1;
    int width = lens[0] + lens[1] + lens[2];
    int16_t *best_rows = malloc(sizeof(int16_t) * (size_t)width * (size_t)rank);
    if (!best_rows) { free(w); return -1; }
    memcpy(w->len, lens, sizeof w->len);
    w->bound = bound;
    w->mod2 = mod2 != 0;
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) w->s[k] = splitmix64(&x);
    copy_in(w, start, rank);
    reduce_all(w);
    int top = rank, best_rank = w->rank, kept = 0;
    copy_out(w, best_rows);
    copy_out(w, last);
    int64_t flips = 0, nplus = 0, since = 0, reached = -1, at = 0;
    if (w->rank <= target) reached = 0;
    while (flips < max_flips) {
        int reduced = 0;
        if (w->rank <= target) {
            if (kept >= samples) break;
            if (at % sample_every == 0) {
                copy_out(w, sample_out + (size_t)kept * (size_t)target * (size_t)width);
                kept++;
                if (kept >= samples) break;
            }
            at++;
        } else if (since >= plateau && w->rank <= top && w->rank <= best_rank) {
            copy_out(w, last);   /* the latest scheme at the best rank, before leaving it */
            nplus += plus(w);
            reduced += reduce_all(w);
            since = 0;
        }
        if (flip(w, &reduced)) since++;
        flips++;
        if (reduced) since = 0;
        if (w->rank < best_rank) {
            best_rank = w->rank;
            copy_out(w, best_rows);
            if (w->rank <= target) {
                if (reached < 0) reached = flips;
                kept = 0;
                at = 0;
            }
        }
    }
    if (w->rank == best_rank) copy_out(w, last);
    memcpy(best, best_rows, sizeof(int16_t) * (size_t)width * (size_t)best_rank);
    stats[0] = flips; stats[1] = nplus; stats[2] = reached; stats[3] = best_rank;
    stats[4] = kept;
    free(best_rows);
    free(w);
    return 0;
}
