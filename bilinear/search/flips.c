/* Flip-graph random walk (Kauers and Moosbauer 2022) on schemes of one <n,m,p> format, and its
 * Z3-symmetric version on square formats (Moosbauer and Poole 2025; the section at the end).
 *
 * Called from bilinear/search/flips.py and symmetric.py, which document the moves and the walks;
 * every scheme they return is verified exactly in Python.  A product is three factors (roles 0, 1, 2: the A-, B-
 * and C-coefficients) of lengths n*m, m*p, n*p, stored as int16 entries within +-bound.  Each
 * factor carries a 64-bit hash of its sign-normalised value (first nonzero entry positive) and
 * the removed sign, so finding the products that share a factor is a scan of hashes.  The PRNG
 * is xoshiro256** seeded by splitmix64: a seed gives the same walk on every machine. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXL 64   /* longest factor */
#define MAXR 512  /* most products */
#define MAXF 64   /* most fixed products of a symmetric walk */

typedef struct {
    int len[3];
    int bound;
    int mod2;      /* 1: coefficients in GF(2) (entries 0/1, sums are xor) */
    int rank;      /* products in v (symmetric walk: 3 per orbit) */
    int symmetric; /* 1: a Z3-symmetric walk (see the section below) */
    int n;         /* symmetric walk: the side of the square format */
    int fixed;     /* symmetric walk: fixed products, x (x) x (x) x^T for each x in fx */
    int fixed_moves; /* symmetric walk: 0 none, 1 toward the target's fixed count, 2 also free */
    int target;    /* symmetric walk: the target rank */
    int16_t fx[MAXF][MAXL];
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

static uint64_t next_s(uint64_t *s) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

/* uniform integer in [0, n), by rejection (no modulo bias) */
static int below_s(uint64_t *s, int n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n, r;
    do { r = next_s(s); } while (r >= limit);
    return (int)(r % (uint64_t)n);
}

static uint64_t next(walk_t *w) { return next_s(w->s); }
static int below(walk_t *w, int n) { return below_s(w->s, n); }

/* x + s*y over the walk's ring (xor over GF(2), where -1 = 1); 0 if outside +-bound */
static int comb(const walk_t *w, int x, int y, int s, int16_t *out) {
    int z = w->mod2 ? (x ^ y) : x + s * y;
    if (z > w->bound || z < -w->bound) return 0;
    *out = (int16_t)z;
    return 1;
}

/* the key of factor `role` of product r: over GF(2) (factors of at most 64 entries) its bits,
 * which decide equality, else a hash of its sign-normalised value */
static void rekey(walk_t *w, int r, int role) {
    const int16_t *v = w->v[r][role];
    int n = w->len[role], t, sg = 1;
    if (w->mod2 && n <= 64) {
        uint64_t bits = 0;
        for (t = 0; t < n; t++) bits |= (uint64_t)(v[t] & 1) << t;
        w->key[r][role] = bits;
        w->sign[r][role] = 1;
        return;
    }
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
    if (w->mod2 && w->len[role] <= 64) return 1;   /* the keys are the factors' bits */
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

/* products t and q share two factors up to sign: t is merged into q (the third factors added,
 * q rekeyed) when the sum stays within the bound; 1 if merged (t is then to be dropped) */
static int merge_into(walk_t *w, int q, int t) {
    if (w->key[t][0] != w->key[q][0] && w->key[t][1] != w->key[q][1]) return 0;   /* fast no */
    int s0 = same(w, t, q, 0), s1 = same(w, t, q, 1), keep;
    int sa, sb;
    if (s0 && s1) { keep = 2; sa = s0; sb = s1; }
    else {
        int s2 = same(w, t, q, 2);
        if (!s2 || !(s0 || s1)) return 0;
        keep = s0 ? 1 : 0; sa = s0 ? s0 : s1; sb = s2;
    }
    /* t = (sa u) (x) (sb v) (x) c_t = u (x) v (x) (sa sb c_t) */
    int sg = sa * sb, n = w->len[keep], ok = 1;
    int16_t sum[MAXL];
    for (int i = 0; i < n && ok; i++)
        ok = comb(w, w->v[q][keep][i], w->v[t][keep][i], sg, &sum[i]);
    if (!ok) return 0;
    memcpy(w->v[q][keep], sum, sizeof(int16_t) * n);
    rekey(w, q, keep);
    return 1;
}

/* one reduction involving product q (zero factor; or another product sharing two factors with
 * it, merged into q when the sum stays within the bound); 1 if one was made */
static int reduce_at(walk_t *w, int q) {
    for (int k = 0; k < 3; k++)
        if (zero(w, q, k)) { delete(w, q); return 1; }
    for (int t = 0; t < w->rank; t++)
        if (t != q && merge_into(w, q, t)) { delete(w, t); return 1; }
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

/* a random product other than those in slots [lo, hi) that shares factor `role` with product i
 * up to sign, or -1 */
static int partner(walk_t *w, int i, int role, int lo, int hi) {
    int c = 0, cand[MAXR];
    for (int t = 0; t < w->rank; t++)
        if ((t < lo || t >= hi) && w->key[t][role] == w->key[i][role] && same(w, t, i, role))
            cand[c++] = t;
    return c ? cand[below(w, c)] : -1;
}

/* the flip of products i and j, which share factor `role` up to sign (j's sign is moved into
 * role + 1 first), the other two roles and the sign drawn at random: 1 + the role of i that
 * changed if made (j's is the third role), 0 if a coefficient would leave the bound (the tensor
 * is unchanged either way) */
static int flip_pair(walk_t *w, int i, int j, int role) {
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
    return 1 + a;
}

/* one random flip; 1 if made.  Reductions it enables are applied; *reduced counts them. */
static int flip(walk_t *w, int *reduced) {
    int R = w->rank, i = -1, j = -1, role = 0;
    for (int tries = 0; tries < 4 * R + 16 && j < 0; tries++) {
        i = below(w, R);
        role = below(w, 3);
        j = partner(w, i, role, i, i + 1);
    }
    if (j < 0 || !flip_pair(w, i, j, role)) return 0;
    if (reduce_at(w, i) || reduce_at(w, j)) *reduced += 1 + reduce_all(w);
    return 1;
}

/* the plus transition on products i and j, its roles drawn at random, the third product written
 * to slot k (rekeyed, with i and j); 0 (nothing changed) if a coefficient would leave the bound */
static int split(walk_t *w, int i, int j, int k) {
    int a = below(w, 3), b = (a + 1 + below(w, 2)) % 3, c = 3 - a - b, ok = 1;
    int16_t d[MAXL], e[MAXL], f[MAXL];
    for (int t = 0; t < w->len[a] && ok; t++)
        ok = comb(w, w->v[i][a][t], w->v[j][a][t], -1, &d[t]);
    for (int t = 0; t < w->len[b] && ok; t++)
        ok = comb(w, w->v[i][b][t], w->v[j][b][t], -1, &e[t]);
    for (int t = 0; t < w->len[c] && ok; t++)
        ok = comb(w, w->v[i][c][t], w->v[j][c][t], 1, &f[t]);
    if (!ok) return 0;
    /* (a_i - a_j, b_i, c_i) + (a_j, b_i - b_j, c_i) + (a_j, b_j, c_i + c_j) */
    memcpy(w->v[k], w->v[j], sizeof w->v[k]);          /* (a_j, b_j, c_j) -> new third */
    memcpy(w->v[k][c], f, sizeof(int16_t) * w->len[c]);
    memcpy(w->v[j][b], e, sizeof(int16_t) * w->len[b]);   /* (a_j, b_i - b_j, c_i) */
    memcpy(w->v[j][c], w->v[i][c], sizeof(int16_t) * w->len[c]);
    memcpy(w->v[i][a], d, sizeof(int16_t) * w->len[a]);   /* (a_i - a_j, b_i, c_i) */
    rekey_all(w, i); rekey_all(w, j); rekey_all(w, k);
    return 1;
}

/* one plus transition (rank + 1) on two random products; 1 if made */
static int plus(walk_t *w) {
    if (w->rank + 1 > MAXR || w->rank < 2) return 0;
    for (int tries = 0; tries < 64; tries++) {
        int i = below(w, w->rank), j = below(w, w->rank - 1);
        if (j >= i) j++;
        if (split(w, i, j, w->rank)) {
            w->rank++;
            return 1;
        }
    }
    return 0;
}

/* ---- Z3-symmetric walk (bilinear/search/symmetric.py documents the action and the moves) ----
 * On a square format <n,n,n> the map sigma(a, b, c) = (b, c^T, a^T) (c^T: the n x n matrix of c
 * transposed) maps the matmul tensor to itself.  A symmetric scheme is `fixed` products
 * x (x) x (x) x^T and orbits {P, sigma P, sigma^2 P}; orbit o occupies slots 3o, 3o+1, 3o+2 of
 * v, slot 3o+k holding sigma^k of the orbit's representative (slot 3o).  Every move is made on
 * one slot of each orbit involved and copied to the others by set_images, so the scheme stays
 * symmetric; the rank is fixed + 3 * orbits. */

static void transpose(const int16_t *x, int16_t *out, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) out[k * n + i] = x[i * n + k];
}

static int total_rank(const walk_t *w) { return w->rank + w->fixed; }

/* the other slots of slot r's orbit become sigma(P_r) and sigma^2(P_r), all three rekeyed */
static void set_images(walk_t *w, int r) {
    int o = r / 3, k = r % 3, n = w->n;
    int s1 = 3 * o + (k + 1) % 3, s2 = 3 * o + (k + 2) % 3;
    size_t bytes = sizeof(int16_t) * (size_t)(n * n);
    memcpy(w->v[s1][0], w->v[r][1], bytes);          /* sigma(a, b, c) = (b, c^T, a^T) */
    transpose(w->v[r][2], w->v[s1][1], n);
    transpose(w->v[r][0], w->v[s1][2], n);
    transpose(w->v[r][2], w->v[s2][0], n);           /* sigma^2(a, b, c) = (c^T, a, b^T) */
    memcpy(w->v[s2][1], w->v[r][0], bytes);
    transpose(w->v[r][1], w->v[s2][2], n);
    rekey_all(w, r); rekey_all(w, s1); rekey_all(w, s2);
}

/* factor `role` of slot r changed: its images in the orbit's other slots follow (rekeyed) */
static void update_image(walk_t *w, int r, int role) {
    int o = r / 3, k = r % 3, n = w->n;
    int s1 = 3 * o + (k + 1) % 3, s2 = 3 * o + (k + 2) % 3;
    int r1 = (role + 2) % 3, r2 = (role + 1) % 3;   /* the role's place in sigma(P), sigma^2(P) */
    size_t bytes = sizeof(int16_t) * (size_t)(n * n);
    if (role == 1) memcpy(w->v[s1][r1], w->v[r][role], bytes);
    else transpose(w->v[r][role], w->v[s1][r1], n);
    if (role == 0) memcpy(w->v[s2][r2], w->v[r][role], bytes);
    else transpose(w->v[r][role], w->v[s2][r2], n);
    rekey(w, s1, r1);
    rekey(w, s2, r2);
}

static void delete_orbit(walk_t *w, int o) {
    int last = w->rank / 3 - 1;
    if (o != last) {
        memcpy(w->v[3 * o], w->v[3 * last], 3 * sizeof w->v[0]);
        memcpy(w->key[3 * o], w->key[3 * last], 3 * sizeof w->key[0]);
        memcpy(w->sign[3 * o], w->sign[3 * last], 3 * sizeof w->sign[0]);
    }
    w->rank -= 3;
}

static void delete_fixed(walk_t *w, int f) {
    memcpy(w->fx[f], w->fx[--w->fixed], sizeof w->fx[f]);
}

/* GF(2) only, orbit o with a slot (x, x, z): with a fixed product of x, the two merge into the
 * orbit of (x, x, z + x^T) (rank - 1; the orbit is dropped too if z = x^T); without one, if
 * z = x^T, the orbit (three equal products) is the fixed product of x (rank - 2).  1 if made. */
static int merge_fixed(walk_t *w, int o) {
    int n = w->n, L = n * n;
    size_t bytes = sizeof(int16_t) * (size_t)L;
    for (int r = 3 * o; r < 3 * o + 3; r++) {
        if (memcmp(w->v[r][0], w->v[r][1], bytes)) continue;
        int16_t xt[MAXL];
        transpose(w->v[r][0], xt, n);
        for (int f = 0; f < w->fixed; f++) {
            if (memcmp(w->fx[f], w->v[r][0], bytes)) continue;
            for (int t = 0; t < L; t++) w->v[r][2][t] ^= xt[t];
            delete_fixed(w, f);
            if (zero(w, r, 2)) delete_orbit(w, o);
            else set_images(w, r);
            return 1;
        }
        if (!memcmp(w->v[r][2], xt, bytes) && w->fixed < MAXF) {
            memcpy(w->fx[w->fixed++], w->v[r][0], bytes);
            delete_orbit(w, o);
            return 1;
        }
    }
    return 0;
}

/* one orbit-wise reduction involving slot q's orbit (a zero factor drops it; a product of
 * another orbit sharing two factors with q merges into q, its orbit dropped; over GF(2) also
 * merge_fixed); 1 if one was made */
static int sym_reduce_at(walk_t *w, int q) {
    int o = q / 3;
    for (int k = 0; k < 3; k++)
        if (zero(w, q, k)) { delete_orbit(w, o); return 1; }
    for (int t = 0; t < w->rank; t++)
        if (t / 3 != o && merge_into(w, q, t)) {
            set_images(w, q);
            delete_orbit(w, t / 3);
            return 1;
        }
    return w->mod2 && merge_fixed(w, o);
}

/* two fixed products that cancel (x and -x; over GF(2), x twice) are dropped (rank - 2); 1 if
 * made */
static int cancel_fixed(walk_t *w) {
    int L = w->n * w->n, s = w->mod2 ? 1 : -1;
    for (int f = 0; f < w->fixed; f++)
        for (int g = f + 1; g < w->fixed; g++) {
            int t = 0;
            while (t < L && w->fx[f][t] == s * w->fx[g][t]) t++;
            if (t == L) { delete_fixed(w, g); delete_fixed(w, f); return 1; }
        }
    return 0;
}

static int sym_reduce_all(walk_t *w) {
    int made = 0, again = 1;
    while (again) {
        again = cancel_fixed(w);
        made += again;
        for (int q = 0; q < w->rank && !again; q += 3)
            if (sym_reduce_at(w, q)) { made++; again = 1; break; }
    }
    return made;
}

/* one random orbit-wise flip: an orbit's representative and a product of another orbit sharing
 * a factor, flipped, and their orbits' other slots set to the images; 1 if made */
static int sym_flip(walk_t *w, int *reduced) {
    int orbits = w->rank / 3, i = -1, j = -1, role = 0;
    if (orbits < 2) return 0;
    for (int tries = 0; tries < 4 * orbits + 16 && j < 0; tries++) {
        i = 3 * below(w, orbits);
        role = below(w, 3);
        j = partner(w, i, role, i, i + 3);
    }
    if (j < 0) return 0;
    int negated = same(w, i, j, role) < 0, made = flip_pair(w, i, j, role);
    if (negated) {   /* also when not made: j's sign moved into role + 1 */
        update_image(w, j, role);
        update_image(w, j, (role + 1) % 3);
    }
    if (!made) return 0;
    update_image(w, i, made - 1);
    update_image(w, j, 3 - role - (made - 1));
    if (sym_reduce_at(w, i) || sym_reduce_at(w, j)) *reduced += 1 + sym_reduce_all(w);
    return 1;
}

/* GF(2): fixed product f, taken as the orbit of three equal products (x, x, x^T) (3 F = F),
 * flipped with a product of another orbit sharing a factor with it (rank + 2); 1 if made */
static int unfold(walk_t *w, int f) {
    int k = w->rank, n = w->n;
    if (k + 3 > MAXR) return 0;
    memcpy(w->v[k][0], w->fx[f], sizeof w->fx[f]);
    memcpy(w->v[k][1], w->fx[f], sizeof w->fx[f]);
    transpose(w->fx[f], w->v[k][2], n);
    w->rank += 3;
    set_images(w, k);
    int role = below(w, 3), j = partner(w, k, role, k, k + 3);
    if (j < 0 || !flip_pair(w, k, j, role)) { w->rank -= 3; return 0; }
    set_images(w, k);
    set_images(w, j);
    delete_fixed(w, f);
    return 1;
}

/* fixed products a (slot f) and b (slot g) become the fixed product of a + b and the orbits of
 * (-a, a, b^T) and (-b, b, a^T), since F_a + F_b = F_(a+b) - O(a, a, b^T) - O(b, b, a^T)
 * (rank + 5); 1 if made (a + b within the bound and nonzero) */
static int split_fixed(walk_t *w, int f, int g) {
    int n = w->n, L = n * n, nonzero = 0;
    if (w->rank + 6 > MAXR) return 0;
    int16_t sum[MAXL];
    for (int t = 0; t < L; t++) {
        if (!comb(w, w->fx[f][t], w->fx[g][t], 1, &sum[t])) return 0;
        nonzero |= sum[t];
    }
    if (!nonzero) return 0;
    for (int e = 0; e < 2; e++) {
        const int16_t *a = w->fx[e ? g : f], *b = w->fx[e ? f : g];
        int k = w->rank;
        for (int t = 0; t < L; t++) w->v[k][0][t] = (int16_t)(w->mod2 ? a[t] : -a[t]);
        memcpy(w->v[k][1], a, sizeof(int16_t) * (size_t)L);
        transpose(b, w->v[k][2], n);
        w->rank += 3;
        set_images(w, k);
    }
    memcpy(w->fx[f], sum, sizeof(int16_t) * (size_t)L);
    delete_fixed(w, g);
    return 1;
}

/* the fixed product of c (slot f) becomes those of a and b = c - a, a a random part of c's
 * nonzero entries (neither zero), and the orbits of (a, a, b^T) and (b, b, a^T), since
 * F_c = F_a + F_b + O(a, a, b^T) + O(b, b, a^T) (rank + 7); 1 if made */
static int divide_fixed(walk_t *w, int f) {
    int n = w->n, L = n * n, nonzero = 0, kept;
    if (w->rank + 6 > MAXR || w->fixed >= MAXF) return 0;
    for (int t = 0; t < L; t++) nonzero += w->fx[f][t] != 0;
    if (nonzero < 2) return 0;
    int16_t a[MAXL], b[MAXL];
    do {
        kept = 0;
        for (int t = 0; t < L; t++) {
            int keep = w->fx[f][t] && (next(w) >> 63);
            a[t] = keep ? w->fx[f][t] : 0;
            b[t] = (int16_t)(w->fx[f][t] - a[t]);
            kept += keep;
        }
    } while (kept == 0 || kept == nonzero);
    for (int e = 0; e < 2; e++) {
        const int16_t *x = e ? b : a, *y = e ? a : b;
        int k = w->rank;
        memcpy(w->v[k][0], x, sizeof(int16_t) * (size_t)L);
        memcpy(w->v[k][1], x, sizeof(int16_t) * (size_t)L);
        transpose(y, w->v[k][2], n);
        w->rank += 3;
        set_images(w, k);
    }
    memcpy(w->fx[f], a, sizeof(int16_t) * (size_t)L);
    memcpy(w->fx[w->fixed++], b, sizeof(int16_t) * (size_t)L);
    return 1;
}

/* one fixed move toward a fixed count congruent to the target rank modulo 3 (rank = fixed +
 * 3 orbits): one fixed product more (divide_fixed) when that is the nearer way and possible,
 * else one fewer (over GF(2) unfold or split_fixed at random, over the integers split_fixed;
 * with a single fixed product over the integers, divide_fixed).  When the count fits and
 * fixed_moves is 2, a free move (more or fewer at random) with probability fixed / (fixed +
 * orbits), so that the fixed products change too.  1 if a move was made */
static int fixed_move(walk_t *w) {
    if (!w->fixed) return 0;
    int off = ((w->fixed - w->target) % 3 + 3) % 3;   /* 1: one too many; 2: one too few */
    if (!off) {
        if (w->fixed_moves < 2) return 0;
        if (below(w, w->fixed + w->rank / 3) >= w->fixed) return 0;
        off = 1 + below(w, 2);
    }
    int f = below(w, w->fixed);
    if (off == 2 && divide_fixed(w, f)) return 1;
    if (w->mod2 && (w->fixed < 2 || (next(w) >> 63))) return unfold(w, f);
    if (w->fixed >= 2) {
        int g = below(w, w->fixed - 1);
        return split_fixed(w, f, g >= f ? g + 1 : g);
    }
    return off == 1 && divide_fixed(w, f);
}

/* one symmetric plus transition: a fixed move (fixed_move, when fixed moves are on), else
 * products of two random orbits split into three, on all images (rank + 3); 1 if made */
static int sym_plus(walk_t *w) {
    int orbits = w->rank / 3;
    if (w->fixed_moves && fixed_move(w)) return 1;
    if (w->rank + 3 > MAXR || orbits < 2) return 0;
    for (int tries = 0; tries < 64; tries++) {
        int i = 3 * below(w, orbits), oj = below(w, orbits - 1);
        if (oj >= i / 3) oj++;
        int j = 3 * oj + below(w, 3);
        if (split(w, i, j, w->rank)) {
            w->rank += 3;
            set_images(w, i); set_images(w, j); set_images(w, w->rank - 3);
            return 1;
        }
    }
    return 0;
}

/* the walk's products (a symmetric walk's fixed products first, as x, x, x^T) */
static void copy_out(const walk_t *w, int16_t *out) {
    for (int f = 0; f < w->fixed; f++) {
        memcpy(out, w->fx[f], sizeof(int16_t) * w->len[0]);
        memcpy(out + w->len[0], w->fx[f], sizeof(int16_t) * w->len[1]);
        transpose(w->fx[f], out + w->len[0] + w->len[1], w->n);
        out += w->len[0] + w->len[1] + w->len[2];
    }
    for (int r = 0; r < w->rank; r++)
        for (int k = 0; k < 3; k++) {
            memcpy(out, w->v[r][k], sizeof(int16_t) * w->len[k]);
            out += w->len[k];
        }
}

/* `rank` products into slots 0.. (a symmetric walk: one per orbit, into slots 3o) */
static void copy_in(walk_t *w, const int16_t *in, int rank) {
    int step = w->symmetric ? 3 : 1;
    w->rank = step * rank;
    for (int r = 0; r < w->rank; r += step) {
        for (int k = 0; k < 3; k++) {
            memcpy(w->v[r][k], in, sizeof(int16_t) * w->len[k]);
            in += w->len[k];
            rekey(w, r, k);
        }
        if (w->symmetric) set_images(w, r);
    }
}

static int reduce_any(walk_t *w) { return w->symmetric ? sym_reduce_all(w) : reduce_all(w); }

/* a walk's outputs: the lowest-rank scheme (best_rows, freed here) and the stats */
static void finish(int16_t *best, int16_t *best_rows, size_t width, int best_rank,
                   int64_t *stats, int64_t flips, int64_t nplus, int64_t reached, int kept) {
    memcpy(best, best_rows, sizeof(int16_t) * width * (size_t)best_rank);
    stats[0] = flips; stats[1] = nplus; stats[2] = reached; stats[3] = best_rank;
    stats[4] = kept;
    free(best_rows);
}

/* the walk loop shared by both entry points (see bl_flip_walk): w holds the start; 0, or -1 if
 * out of memory */
static int run(walk_t *w, int target, int64_t max_flips, int64_t plateau, int samples,
                int64_t sample_every, int16_t *best, int16_t *last, int16_t *sample_out,
                int64_t *stats) {
    size_t width = (size_t)(w->len[0] + w->len[1] + w->len[2]);
    int top = total_rank(w);
    int16_t *best_rows = malloc(sizeof(int16_t) * width * (size_t)top);
    if (!best_rows) return -1;
    reduce_any(w);
    int best_rank = total_rank(w), kept = 0;
    copy_out(w, best_rows);
    copy_out(w, last);
    int64_t flips = 0, nplus = 0, since = 0, reached = -1, at = 0;
    if (best_rank <= target) reached = 0;
    while (flips < max_flips) {
        int reduced = 0, rank = total_rank(w);
        if (rank <= target) {
            if (kept >= samples) break;
            if (at % sample_every == 0) {
                copy_out(w, sample_out + (size_t)kept * (size_t)target * width);
                kept++;
                if (kept >= samples) break;
            }
            at++;
        } else if (since >= plateau && rank <= top && rank <= best_rank) {
            copy_out(w, last);   /* the latest scheme at the best rank, before leaving it */
            nplus += w->symmetric ? sym_plus(w) : plus(w);
            reduced += reduce_any(w);
            since = 0;
        }
        if (w->symmetric ? sym_flip(w, &reduced) : flip(w, &reduced)) since++;
        flips++;
        if (reduced) since = 0;
        rank = total_rank(w);
        if (rank < best_rank) {
            best_rank = rank;
            copy_out(w, best_rows);
            if (rank <= target) {
                if (reached < 0) reached = flips;
                kept = 0;
                at = 0;
            }
        }
    }
    if (total_rank(w) == best_rank) copy_out(w, last);
    finish(best, best_rows, width, best_rank, stats, flips, nplus, reached, kept);
    return 0;
}

static walk_t *start_walk(uint64_t seed, int bound, int mod2) {
    walk_t *w = calloc(1, sizeof(walk_t));
    if (!w) return NULL;
    w->bound = bound;
    w->mod2 = mod2 != 0;
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) w->s[k] = splitmix64(&x);
    return w;
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
    walk_t *w = start_walk(seed, bound, mod2);
    if (!w) return -1;
    memcpy(w->len, lens, sizeof w->len);
    copy_in(w, start, rank);
    int status = run(w, target, max_flips, plateau, samples, sample_every, best, last,
                     sample_out, stats);
    free(w);
    return status;
}

/* The walk of symmetric.walk on <n,n,n>: `fixed` products given by their x (n*n entries each),
 * then `orbits` representatives (3 n*n entries each); fixed_moves: which fixed moves plus
 * transitions may make (0 none, 1 toward the target's fixed count, 2 also free ones; fixed_move).  Outputs and stats as bl_flip_walk's,
 * products written as full schemes (fixed products first, then each orbit's three).
 * Returns 0, or -1 if the sizes are out of range. */
int bl_symmetric_walk(int n, int fixed, const int16_t *fixed_x, int orbits,
                      const int16_t *representatives, int target, uint64_t seed,
                      int64_t max_flips, int64_t plateau, int samples, int64_t sample_every,
                      int bound, int mod2, int fixed_moves, int16_t *best, int16_t *last,
                      int16_t *sample_out, int64_t *stats) {
    if (n < 1 || n * n > MAXL || fixed < 0 || fixed > MAXF || orbits < 0 || fixed_moves < 0
        || fixed_moves > 2 || 3 * orbits + 3 > MAXR || fixed + orbits < 1 || bound < 1
        || bound > 16000) return -1;
    walk_t *w = start_walk(seed, bound, mod2);
    if (!w) return -1;
    w->symmetric = 1;
    w->n = n;
    for (int k = 0; k < 3; k++) w->len[k] = n * n;
    w->fixed = fixed;
    w->fixed_moves = fixed_moves;
    w->target = target;
    for (int f = 0; f < fixed; f++)
        memcpy(w->fx[f], fixed_x + (size_t)f * (size_t)(n * n), sizeof(int16_t) * (size_t)(n * n));
    copy_in(w, representatives, orbits);
    int status = run(w, target, max_flips, plateau, samples, sample_every, best, last,
                     sample_out, stats);
    free(w);
    return status;
}

/* ---- bit-packed GF(2) symmetric walk (symmetric.py documents it) ----
 * A factor of an n x n matrix (n <= 8) is a 64-bit word, bit i*n+k for entry (i, k), and sums
 * are xor.  Orbit o is kept as (u, v, w) = (a, b, c^T) of its representative (a, b, c), in slots
 * 3o, 3o+1, 3o+2: sigma is then the rotation (u, v, w) -> (v, w, u), so a product may be read
 * from any slot of its orbit.  A table maps each factor value to the slots holding it (a linked
 * list), and the values held by two slots or more are listed: a flip draws such a value, then
 * an ordered pair of its holders in different orbits.  The fixed products x (x) x (x) x^T
 * (x, x, x in this form) are never changed. */

#define PMAXO 170                 /* most orbits */
#define PSLOTS (3 * PMAXO)
#define PHASH 2048                /* table size, a power of two above 2 * PSLOTS */

typedef struct { uint64_t key; int count, head, two; } pentry_t;   /* count 0: a free entry */

typedef struct {
    int n, orbits, fixed, ntwo;
    int merge;                    /* 1: merges at changed slots (preduce); 0: zero factors only */
    uint64_t fx[MAXF];
    uint64_t f[PSLOTS];
    int nxt[PSLOTS], prv[PSLOTS]; /* the holders of one value */
    pentry_t table[PHASH];
    int two[PHASH];               /* table entries of the values with two holders or more */
    uint64_t s[4];
} pwalk_t;

static int phash(uint64_t k) { return (int)((k * 0x9e3779b97f4a7c15ULL) >> 53); }   /* 11 bits */

/* the table entry of value k, or the free entry where it would go (linear probing) */
static int pfind(const pwalk_t *w, uint64_t k) {
    int h = phash(k);
    while (w->table[h].count && w->table[h].key != k) h = (h + 1) & (PHASH - 1);
    return h;
}

static void two_add(pwalk_t *w, int h) { w->table[h].two = w->ntwo; w->two[w->ntwo++] = h; }

static void two_remove(pwalk_t *w, int h) {
    int i = w->table[h].two, moved = w->two[--w->ntwo];
    w->two[i] = moved;
    w->table[moved].two = i;
    w->table[h].two = -1;
}

/* slot s (nonzero) joins the holders of its value */
static void plink(pwalk_t *w, int s) {
    int h = pfind(w, w->f[s]);
    pentry_t *e = &w->table[h];
    if (!e->count) { e->key = w->f[s]; e->head = -1; e->two = -1; }
    w->prv[s] = -1;
    w->nxt[s] = e->head;
    if (e->head >= 0) w->prv[e->head] = s;
    e->head = s;
    if (++e->count == 2) two_add(w, h);
}

/* slot s (nonzero) leaves the holders of its value; a value without holders leaves the table
 * (backward-shift deletion keeps every probe sequence unbroken) */
static void punlink(pwalk_t *w, int s) {
    int h = pfind(w, w->f[s]);
    pentry_t *e = &w->table[h];
    if (w->prv[s] >= 0) w->nxt[w->prv[s]] = w->nxt[s];
    else e->head = w->nxt[s];
    if (w->nxt[s] >= 0) w->prv[w->nxt[s]] = w->prv[s];
    if (--e->count == 1) two_remove(w, h);
    if (e->count) return;
    int i = h, j = h;
    for (;;) {
        j = (j + 1) & (PHASH - 1);
        if (!w->table[j].count) break;
        int home = phash(w->table[j].key);
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue;
        w->table[i] = w->table[j];   /* j's entry may fill the hole at i */
        if (w->table[i].two >= 0) w->two[w->table[i].two] = i;
        i = j;
    }
    w->table[i].count = 0;
}

static void pset(pwalk_t *w, int s, uint64_t v) {
    if (w->f[s]) punlink(w, s);
    w->f[s] = v;
    if (v) plink(w, s);
}

/* orbit o is dropped and the last orbit moves into its slots; the slot indices in track follow
 * the move (-1: the slot was in o) */
static void pdrop(pwalk_t *w, int o, int *track, int ntrack) {
    int last = --w->orbits;
    for (int k = 0; k < 3; k++) pset(w, 3 * o + k, 0);
    if (o != last)
        for (int k = 0; k < 3; k++) {
            uint64_t v = w->f[3 * last + k];
            pset(w, 3 * last + k, 0);
            pset(w, 3 * o + k, v);
        }
    for (int i = 0; i < ntrack; i++) {
        if (track[i] < 0) continue;
        if (track[i] / 3 == o) track[i] = -1;
        else if (track[i] / 3 == last) track[i] = 3 * o + track[i] % 3;
    }
}

/* a reduction at slot track[t]: a product of another orbit holding its value and, aligned there,
 * one more factor merges into it (the third factors added; a zero sum drops both orbits).
 * track[t] becomes the slot changed (-1 if dropped), the other tracked slots follow; 1 if made */
static int preduce(pwalk_t *w, int *track, int ntrack, int t) {
    int s = track[t], os = s / 3, ks = s % 3;
    if (s < 0 || !w->f[s]) return 0;
    for (int q = w->table[pfind(w, w->f[s])].head; q >= 0; q = w->nxt[q]) {
        int oq = q / 3, kq = q % 3;
        if (oq == os) continue;
        for (int d = 1; d <= 2; d++) {
            if (w->f[3 * os + (ks + d) % 3] != w->f[3 * oq + (kq + d) % 3]) continue;
            int a = 3 * os + (ks + 3 - d) % 3, b = 3 * oq + (kq + 3 - d) % 3;
            uint64_t sum = w->f[a] ^ w->f[b];
            pset(w, a, sum);
            track[t] = a;
            pdrop(w, oq, track, ntrack);
            if (!sum) pdrop(w, track[t] / 3, track, ntrack);
            return 1;
        }
    }
    return 0;
}

/* all reductions at the tracked slots, each followed while it changes a slot; orbits dropped */
static int psettle(pwalk_t *w, int *track, int ntrack) {
    int before = w->orbits;
    for (int t = 0; t < ntrack; t++)
        while (preduce(w, track, ntrack, t)) {}
    return before - w->orbits;
}

/* reductions anywhere, until none is left; orbits dropped */
static int psettle_all(pwalk_t *w) {
    int before = w->orbits, again = 1;
    while (again) {
        again = 0;
        for (int s = 0; s < 3 * w->orbits && !again; s++) {
            int track[1] = {s};
            again = preduce(w, track, 1, 0);
        }
    }
    return before - w->orbits;
}

/* one flip: holders p, q of one value d in different orbits, read as (d, f, e) from there,
 * become (d, f_p, e_p + e_q) and (d, f_p + f_q, e_q); a zero factor drops its orbit, then (with
 * merge) the reductions at the changed slots.  1 if made; *reduced counts orbits dropped */
static int pflip(pwalk_t *w, int *reduced) {
    int p = -1, q = -1;
    for (int tries = 0; tries < 64 && p < 0; tries++) {
        if (!w->ntwo) return 0;
        const pentry_t *e = &w->table[w->two[below_s(w->s, w->ntwo)]];
        int x = below_s(w->s, e->count), y = below_s(w->s, e->count - 1), a = e->head, b;
        if (y >= x) y++;
        for (int i = 0; i < x; i++) a = w->nxt[a];
        for (b = e->head; y > 0; y--) b = w->nxt[b];
        if (a / 3 != b / 3) { p = a; q = b; }
    }
    if (p < 0) return 0;
    int op = p - p % 3, oq = q - q % 3;
    int fp = op + (p % 3 + 1) % 3, ep = op + (p % 3 + 2) % 3;
    int fq = oq + (q % 3 + 1) % 3, eq = oq + (q % 3 + 2) % 3;
    uint64_t ne = w->f[ep] ^ w->f[eq], nf = w->f[fq] ^ w->f[fp];
    int before = w->orbits, track[2] = {ep, fq};
    pset(w, ep, ne);
    pset(w, fq, nf);
    if (!ne) pdrop(w, track[0] / 3, track, 2);
    if (!nf) pdrop(w, track[1] / 3, track, 2);
    if (w->merge) psettle(w, track, 2);
    *reduced += before - w->orbits;
    return 1;
}

/* the plus transition on random slots p, q of two orbits, read as (d, f, e) from there:
 * P + Q = (d_p, f_p, e_p + e_q) + (d_p, f_p + f_q, e_q) + (d_p + d_q, f_q, e_q), the third a new
 * orbit (all factors nonzero: d, f and e differ between P and Q); then (with merge) the
 * reductions at the changed slots.  1 if made */
static int pplus(pwalk_t *w) {
    if (w->orbits < 2 || w->orbits >= PMAXO) return 0;
    for (int tries = 0; tries < 1000; tries++) {
        int p = below_s(w->s, 3 * w->orbits), q = below_s(w->s, 3 * w->orbits);
        if (p / 3 == q / 3) continue;
        int op = p - p % 3, oq = q - q % 3;
        int fp = op + (p % 3 + 1) % 3, ep = op + (p % 3 + 2) % 3;
        int fq = oq + (q % 3 + 1) % 3, eq = oq + (q % 3 + 2) % 3;
        uint64_t dp = w->f[p], dq = w->f[q], Fp = w->f[fp], Fq = w->f[fq];
        uint64_t Ep = w->f[ep], Eq = w->f[eq];
        if (dp == dq || Fp == Fq || Ep == Eq) continue;
        int r = 3 * w->orbits++;
        w->f[r] = 0; w->f[r + 1] = 0; w->f[r + 2] = 0;
        pset(w, r, dp ^ dq);
        pset(w, r + 1, Fq);
        pset(w, r + 2, Eq);
        pset(w, ep, Ep ^ Eq);
        pset(w, q, dp);
        pset(w, fq, Fp ^ Fq);
        int track[6] = {ep, q, fq, r, r + 1, r + 2};
        if (w->merge) psettle(w, track, 6);
        return 1;
    }
    return 0;
}

static int prank(const pwalk_t *w) { return w->fixed + 3 * w->orbits; }

/* the bits of an n x n matrix of 0/1 entries (transposed: of its transpose) */
static uint64_t pget(const int16_t *x, int n, int transposed) {
    uint64_t bits = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            if (x[i * n + k] & 1) bits |= 1ULL << (transposed ? k * n + i : i * n + k);
    return bits;
}

static void pput(uint64_t bits, int16_t *out, int n, int transposed) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            out[i * n + k] = (int16_t)((bits >> (transposed ? k * n + i : i * n + k)) & 1);
}

/* the full scheme: fixed products (x, x, x^T), then each orbit's three images (u, v, w^T),
 * (v, w, u^T), (w, u, v^T) */
static void pcopy_out(const pwalk_t *w, int16_t *out) {
    int n = w->n, L = n * n;
    for (int f = 0; f < w->fixed; f++, out += 3 * L) {
        pput(w->fx[f], out, n, 0);
        pput(w->fx[f], out + L, n, 0);
        pput(w->fx[f], out + 2 * L, n, 1);
    }
    for (int o = 0; o < w->orbits; o++)
        for (int k = 0; k < 3; k++, out += 3 * L) {
            pput(w->f[3 * o + k], out, n, 0);
            pput(w->f[3 * o + (k + 1) % 3], out + L, n, 0);
            pput(w->f[3 * o + (k + 2) % 3], out + 2 * L, n, 1);
        }
}

/* The walk of symmetric.walk with packed=True (GF(2), fixed products kept): arguments and
 * outputs as bl_symmetric_walk's (entries 0/1), plus patience (> 0: the walk also ends after
 * that many flips without a new lowest rank), plus_any (1: plus transitions at any rank below
 * the start's, not only at the lowest rank reached) and merge (1: products sharing two factors
 * merge as soon as a move makes them; 0: only flips that make a factor zero reduce).  Returns
 * 0, or -1 if out of range. */
int bl_symmetric_walk_packed(int n, int fixed, const int16_t *fixed_x, int orbits,
                             const int16_t *representatives, int target, uint64_t seed,
                             int64_t max_flips, int64_t plateau, int64_t patience, int plus_any,
                             int merge, int samples, int64_t sample_every, int16_t *best,
                             int16_t *last, int16_t *sample_out, int64_t *stats) {
    if (n < 1 || n * n > 64 || fixed < 0 || fixed > MAXF || orbits < 0 || orbits >= PMAXO
        || fixed + orbits < 1) return -1;
    pwalk_t *w = calloc(1, sizeof(pwalk_t));
    if (!w) return -1;
    int L = n * n;
    size_t width = (size_t)(3 * L);
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) w->s[k] = splitmix64(&x);
    w->n = n;
    w->fixed = fixed;
    w->merge = merge != 0;
    for (int f = 0; f < fixed; f++) w->fx[f] = pget(fixed_x + (size_t)f * L, n, 0);
    for (int o = 0; o < orbits; o++) {
        const int16_t *r = representatives + (size_t)o * width;
        int s = 3 * w->orbits++;
        w->f[s] = w->f[s + 1] = w->f[s + 2] = 0;
        pset(w, s, pget(r, n, 0));
        pset(w, s + 1, pget(r + L, n, 0));
        pset(w, s + 2, pget(r + 2 * L, n, 1));
        if (!w->f[s] || !w->f[s + 1] || !w->f[s + 2]) pdrop(w, w->orbits - 1, NULL, 0);
    }
    int top = prank(w);
    int16_t *best_rows = malloc(sizeof(int16_t) * width * (size_t)top);
    if (!best_rows) { free(w); return -1; }
    if (w->merge) psettle_all(w);
    int best_rank = prank(w), kept = 0, stuck = 0;
    top = best_rank;
    pcopy_out(w, best_rows);
    pcopy_out(w, last);
    int64_t flips = 0, nplus = 0, since = 0, reached = -1, at = 0, improved = 0;
    if (best_rank <= target) reached = 0;
    while (flips < max_flips && (patience <= 0 || flips - improved < patience)) {
        int reduced = 0, rank = prank(w);
        if (rank <= target) {
            if (kept >= samples) break;
            if (at % sample_every == 0) {
                pcopy_out(w, sample_out + (size_t)kept * (size_t)target * width);
                if (++kept >= samples) break;
            }
            at++;
        } else if (since >= plateau || stuck) {
            if (plus_any ? rank < top : rank <= best_rank) {
                if (rank == best_rank) pcopy_out(w, last);
                nplus += pplus(w);
                since = 0;
            } else if (stuck) break;
        }
        stuck = !pflip(w, &reduced);
        if (!stuck) since++;
        flips++;
        if (reduced) since = 0;
        rank = prank(w);
        if (rank < best_rank) {
            best_rank = rank;
            improved = flips;
            pcopy_out(w, best_rows);
            if (rank <= target) {
                if (reached < 0) reached = flips;
                kept = 0;
                at = 0;
            }
        }
    }
    if (prank(w) == best_rank) pcopy_out(w, last);
    finish(best, best_rows, width, best_rank, stats, flips, nplus, reached, kept);
    free(w);
    return 0;
}
