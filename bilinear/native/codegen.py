"""Scheme -> C source: tables of one recursion level, fused write-once addition passes with
common-subexpression elimination, and the generic recursion (mm_body.c) per dtype."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from bilinear.algebra.schemes import Scheme
from bilinear.native.plan import Combination, Plan, make_plan, validate

HERE = Path(__file__).resolve().parent
DTYPES = {"d": "double", "s": "float"}
VEC_MACROS = ("VEC", "VLOAD", "VSTREAM", "VW")
# instruction set -> (target attribute, per-dtype vector type, load, streaming store, width)
ISAS = {
    "avx512": ("avx512f", {"d": ("__m512d", "_mm512_loadu_pd", "_mm512_stream_pd", 8),
                           "s": ("__m512", "_mm512_loadu_ps", "_mm512_stream_ps", 16)}),
    "avx2": ("avx2,fma", {"d": ("__m256d", "_mm256_loadu_pd", "_mm256_stream_pd", 4),
                          "s": ("__m256", "_mm256_loadu_ps", "_mm256_stream_ps", 8)}),
}

CDEF = """
int bl_set_isa(int level);
int64_t bl_workspace(int levels, int mode, int64_t M, int64_t K, int64_t N);
void bl_matmul_d(int levels, int threads, int mode, int64_t M, int64_t K, int64_t N,
                 const double *A, int64_t lda, const double *B, int64_t ldb,
                 double *C, int64_t ldc, double *ws);
void bl_matmul_s(int levels, int threads, int mode, int64_t M, int64_t K, int64_t N,
                 const float *A, int64_t lda, const float *B, int64_t ldb,
                 float *C, int64_t ldc, float *ws);
void bl_gemm_d(int threads, int64_t M, int64_t K, int64_t N, const double *A, int64_t lda,
               const double *B, int64_t ldb, double *C, int64_t ldc);
void bl_gemm_s(int threads, int64_t M, int64_t K, int64_t N, const float *A, int64_t lda,
               const float *B, int64_t ldb, float *C, int64_t ldc);
"""


def _num(c: Fraction) -> str:
    """A C literal for an exact rational (exact in binary when the denominator is a power of 2)."""
    if c.denominator == 1:
        return f"{c.numerator}.0"
    return f"({c.numerator}.0 / {c.denominator}.0)"


def _sum(terms) -> str:
    """C expression sum of (variable name, coefficient) terms."""
    out = []
    for name, c in terms:
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        body = name if mag == 1 else f"(T){_num(mag)} * {name}"
        out.append(f"{sign} {body}" if out or sign == "-" else body)
    return " ".join(out)


def _pass(name: str, comb: Combination, in_grid: int | None, out_grid: int | None,
          accumulate: bool) -> str:
    """A row-range pass computing every output of comb in one sweep over its inputs.

    in_grid / out_grid: number of block columns when inputs / outputs are blocks of a strided
    matrix (p->in / p->out with leading dimension p->ld), or None for contiguous temporaries.
    Outputs that are empty combinations are not written; accumulate adds the p->acc == 1
    variant (outputs += combination) to the overwriting one.
    """
    used = sorted({v for a, b, _ in comb.defs for v in (a, b) if v < comb.n_inputs}
                  | {v for out in comb.outputs for v, _ in out if v < comb.n_inputs})
    written = [t for t, out in enumerate(comb.outputs) if out]

    def block(base: str, k: int, grid: int | None, const: str) -> str:
        if grid is None:
            return f"{const}T *restrict {base}{k} = ({const}T *){base} + {k} * bs + i * cols;"
        bi, bj = divmod(k, grid)
        return (f"{const}T *restrict {base}{k} = ({const}T *){base} + ({bi} * rows + i) * ld"
                f" + {bj} * cols;")

    lines = [f"static void {name}", "{",
             "    const idx rows = p->rows, cols = p->cols, ld = p->ld, bs = rows * cols;",
             "    const T *in = (const T *)p->in; T *out = (T *)p->out;",
             "    (void)ld; (void)bs;",
             "    for (idx i = r0; i < r1; i++) {"]
    lines += ["        " + block("in", k, in_grid, "const ") for k in used]
    lines += ["        " + block("out", t, out_grid, "") for t in written]
    def body(acc: int, vector: bool) -> list[str]:
        load = "VLOAD({}{} + j)" if vector else "{}{}[j]"
        out = [f"const {'VEC' if vector else 'T'} v{k} = {load.format('in', k)};" for k in used]
        for i, (a, b, c) in enumerate(comb.defs):
            out.append(f"const {'VEC' if vector else 'T'} v{comb.n_inputs + i} = "
                       f"{_sum([(f'v{a}', Fraction(1)), (f'v{b}', c)])};")
        for t in written:
            expr = _sum([(f"v{v}", c) for v, c in comb.outputs[t]])
            if vector:
                value = f"VLOAD(out{t} + j) + ({expr})" if acc else expr
                out.append(f"VSTREAM(out{t} + j, {value});")
            else:
                out.append(f"out{t}[j] {'+=' if acc else '='} {expr};")
        return out

    aligned = " | ".join(f"(uintptr_t)out{t}" for t in written) or "0"
    variants = (0, 1) if accumulate else (0,)
    header = lines

    def variant(isa: str | None) -> list[str]:
        """The pass for one instruction set: streaming vector stores (isa) or plain loops."""
        attr = f"__attribute__((target(\"{ISAS[isa][0]}\"))) " if isa else ""
        out = [f"{attr}{header[0]}_{isa or 'base'}(const pass_t *p, idx r0, idx r1)",
               *header[1:]]
        if isa:
            for key, value in zip(VEC_MACROS, ISAS[isa][1][ctype_key], strict=True):
                out.insert(0, f"#define {key} {value}")
            out += [f"        if (p->nt && cols % VW == 0 && (({aligned}) & (VW * sizeof(T) - 1))"
                    " == 0) {"]
            for acc in variants:
                out += [f"            if (p->acc == {acc}) {{",
                        "                for (idx j = 0; j < cols; j += VW) {"]
                out += ["                    " + x for x in body(acc, True)]
                out += ["                }", "            }"]
            out += ["            continue;", "        }"]
        for acc in variants:
            out += [f"        if (p->acc == {acc}) {{",
                    "            _Pragma(\"GCC ivdep\") for (idx j = 0; j < cols; j++) {"]
            out += ["                " + x for x in body(acc, False)]
            out += ["            }", "        }"]
        out += ["    }"]
        if isa:
            out += ["    if (p->nt)", "        _mm_sfence();"]
        out += ["}", *(f"#undef {key}" for key in VEC_MACROS if isa), ""]
        return out

    # one variant per instruction set, the widest the CPU supports picked at run time, so the
    # build targets a portable baseline and has the same bytes on every machine of this kind
    ctype_key = name.rsplit("_", 1)[1]
    out = [*variant("avx512"), *variant("avx2"), *variant(None),
           f"static void {name}(const pass_t *p, idx r0, idx r1)", "{",
           f"    if (ISA_LEVEL >= 2) {name}_avx512(p, r0, r1);",
           f"    else if (ISA_LEVEL == 1) {name}_avx2(p, r0, r1);",
           f"    else {name}_base(p, r0, r1);", "}", ""]
    return "\n".join(out)


def _tables(plan: Plan) -> str:
    """Constant tables describing one level: format, temporaries, products and destinations."""
    n, m, p = plan.fmt
    slots = plan.slots
    x_of = {r: k for k, r in enumerate(plan.multi)}

    def ref(operand) -> str:
        kind, idx = operand
        return f"{{{1 if kind == 'temp' else 0}, {idx}}}"

    rows = []
    for r, s in enumerate(slots):
        dest, coeff = (x_of[r], Fraction(1)) if r in x_of else s.dests[0]
        rows.append(f"    {{{ref(s.a)}, {ref(s.b)}, {_num(s.scale * coeff)}, {int(r in x_of)}, "
                    f"{dest}}},")
    writes = [int(bool(o)) for o in plan.combine.outputs]
    order = list(plan.multi) + list(plan.single)
    return "\n".join([
        f"#define SN {n}", f"#define SM {m}", f"#define SP {p}", f"#define RANK {len(slots)}",
        f"#define NTA {len(plan.form_a.outputs)}", f"#define NTB {len(plan.form_b.outputs)}",
        f"#define NX {len(plan.multi)}", f"#define NMULTI {len(plan.multi)}",
        "static const slot_t SLOTS[RANK] = {", *rows, "};",
        f"static const int ORDER[RANK] = {{{', '.join(map(str, order))}}};",
        f"static const int COMBINE_WRITES[SN * SP] = {{{', '.join(map(str, writes))}}};", ""])


def _depth_tables(scheme: Scheme) -> str:
    """Tables of the depth-first level: per product its A and B terms (block, coefficient),
    its C destinations, and whether its A / B operand is the previous product's."""
    n, m, p = scheme.fmt

    def terms(row) -> tuple:
        return tuple((i, Fraction(c)) for i, c in enumerate(row) if c != 0)

    slots = [(terms(scheme.U[r]), terms(scheme.V[r]), terms(scheme.W[:, r]))
             for r in range(scheme.rank)]
    width = max(len(t) for slot in slots for t in slot)

    def c_terms(ts: tuple) -> str:
        index = ", ".join(str(i) for i, _ in ts)
        coeff = ", ".join(_num(c) for _, c in ts)
        return f"{{{len(ts)}, {{{index}}}, {{{coeff}}}}}"

    rows = []
    for r, (a, b, c) in enumerate(slots):
        again = [int(r > 0 and len(x) > 1 and x == slots[r - 1][k]) for k, x in enumerate((a, b))]
        rows.append(f"    {{{c_terms(a)}, {c_terms(b)}, {c_terms(c)}, {again[0]}, {again[1]}}},")
    return "\n".join([
        f"#define DF_MAXT {width}",
        f"#define DF_SA {int(any(len(a) > 1 for a, _, _ in slots))}",
        f"#define DF_SB {int(any(len(b) > 1 for _, b, _ in slots))}",
        f"#define DF_P {int(any(len(c) > 1 for _, _, c in slots))}",
        "typedef struct { int n; int index[DF_MAXT]; double coeff[DF_MAXT]; } terms_t;",
        "typedef struct { terms_t a, b, c; int a_again, b_again; } df_slot_t;",
        "static const df_slot_t DF_SLOTS[RANK] = {", *rows, "};", ""])


def generate(scheme: Scheme, leaves: bool = True, exact: bool = True) -> str:
    """Complete C source of the kernel for a scheme (validated first; raises SchemeCompileError).

    leaves=False gives the diagnostic variant whose leaf gemm calls return at once: the same
    recursion and addition passes without the products (its results are not products).
    exact=False compiles a bilinear map that is no product (see bilinear.native.plan.validate)."""
    plan = make_plan(scheme, exact)
    n, m, p = plan.fmt
    parts = ["" if leaves else "#define SKIP_LEAVES 1\n", (HERE / "prelude.c").read_text(),
             _tables(plan), _depth_tables(validate(scheme, exact)), (HERE / "common.c").read_text()]
    body = (HERE / "mm_body.c").read_text()
    for suffix, ctype in DTYPES.items():
        parts.append(f"#define T {ctype}\n#define GEMM scipy_cblas_{suffix}gemm64_")
        parts.append(_pass(f"form_a_{suffix}", plan.form_a, m, None, False))
        parts.append(_pass(f"form_b_{suffix}", plan.form_b, p, None, False))
        parts.append(_pass(f"combine_{suffix}", plan.combine, None, p, True))
        parts.append(body.replace("@S@", suffix))
        parts.append("#undef T\n#undef GEMM")
    return "\n".join(parts)
