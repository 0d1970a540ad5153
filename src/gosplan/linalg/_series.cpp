// Fused kernels for the Neumann and Jacobi series on a CSR matrix (gosplan.linalg.iterative).
//
// One series step reads A once and, in the same pass over the rows, forms the
// residual r = d - x + A x of the current iterate, its squared norm per column,
// and the next iterate x + r (Neumann) or x + r / (1 - a_ii) (Jacobi).  SciPy's
// product needs four more passes over the vectors for the same work and sums a
// row in one accumulator, so it waits on the latency of every add; here a row
// is summed in four independent partial sums, and for several right-hand sides
// (an n x ld row-major block, ld padded to 1, 2, 4 or a multiple of 8 so that
// rows of the block start on cache lines) the sums of a row stay in registers.
//
// The transposed step (the price system) runs `step` on a transposed copy of A
// that the solver builds once, in parallel, with `count` and `place` (a CSR
// transpose by blocks of rows: each block counts its entries per column, the
// counts become each block's write positions, and each block writes its entries
// there, so that the copy's rows come out sorted).  Columns of A with many
// entries (hubs) can be skipped: their rows of A^T would gather x at random, so the
// solver scatters them instead, into buffers of a few rows that stay in cache.
// Without the copy (a matrix streamed from disk) the step scatters A^T x into one
// buffer per thread and `combine` sums the buffers, forms the residual and the
// next iterate and clears the buffers for the next step, again in one pass.
//
// Every function works on a row range [r0, r1) so that Python threads can split
// the rows; each releases the GIL.  Arrays arrive through the buffer protocol
// (C-contiguous): values float64 or float32 (vectors have the matrix's dtype),
// indptr and indices int32 or int64 (one type for both).  The kernels are
// compiled for AVX-512, AVX2 and plain x86-64 (or the host's baseline elsewhere)
// and the best the CPU supports is chosen when the module is imported.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <initializer_list>
#include <deque>
#include <vector>

#if defined(__GNUC__)
#define GOSPLAN_INLINE inline __attribute__((always_inline))
#else
#define GOSPLAN_INLINE inline
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define GOSPLAN_X86 1
#endif

#if defined(__GNUC__) && !defined(__clang__)
// the SIMD values below never cross a call that is not inlined, so the ABI note is moot
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace {

// Entries ahead whose rows of X are prefetched, for blocks of 4 and more columns (one
// cache line per entry). For 1 or 2 columns prefetching was measured to cost more than
// it saves (n = 10^6, 50 inputs per product: 1.76x the bandwidth bound with, 1.57x without).
constexpr int64_t AHEAD = 128;

// Entries past the row being summed up to which the matrix arrays are prefetched into L2
// (16 KiB of float64 values). Without it the hardware prefetcher alone left each row
// waiting on memory (n = 10^6, 50 inputs per product, 1 column, 2 threads: 35 ms a step
// without, 21-25 ms with 1,024 to 4,096 entries; 16,384 was no better).
constexpr int64_t STREAM = 2048;

// ---- the kernels (inlined into each instruction-set variant) --------------------------------

// W values of type V as one SIMD value (the GCC/Clang vector extension; one zmm register
// for 8 float64 in the AVX-512 build, two ymm in the AVX2 one); a plain V for W = 1.
template <int W, typename V>
struct Lanes {
    typedef V type __attribute__((vector_size(W * sizeof(V))));
    static type load(const V* p) {
        type v;
        __builtin_memcpy(&v, p, sizeof(v));
        return v;
    }
    static void store(V* p, const type& v) { __builtin_memcpy(p, &v, sizeof(v)); }
};
template <typename V>
struct Lanes<1, V> {
    typedef V type;
    static type load(const V* p) { return *p; }
    static void store(V* p, const type& v) { *p = v; }
};

// sum_p a[p] X[ind[p] ld + (0..W-1)] over one row's entries [s, e), in four partial sums.
// For W >= 4 the rows of X that entries AHEAD further on will read are prefetched: they
// lie scattered over a window wider than the L1 cache, and the first touch of each is a
// miss that the hardware prefetcher cannot predict.
template <int W, int S, typename V, typename I>
GOSPLAN_INLINE typename Lanes<W, V>::type row_dot(const V* __restrict a, const I* __restrict ind, int64_t s,
                                                  int64_t e, int64_t last, const V* __restrict X, int64_t ld_) {
    const int64_t ld = S ? S : ld_;  // S: the row length when known at compile time (one block)
    typedef Lanes<W, V> L;
    typename L::type p0 = {}, p1 = {}, p2 = {}, p3 = {};
    int64_t k = s;
    for (; k + 4 <= e; k += 4) {
        if (W >= 4) {
            const int64_t f = k + AHEAD < last ? k + AHEAD : last;
            __builtin_prefetch(X + int64_t(ind[f]) * ld);
            __builtin_prefetch(X + int64_t(ind[f + 1 < last ? f + 1 : last]) * ld);
            __builtin_prefetch(X + int64_t(ind[f + 2 < last ? f + 2 : last]) * ld);
            __builtin_prefetch(X + int64_t(ind[f + 3 < last ? f + 3 : last]) * ld);
        }
        p0 += a[k] * L::load(X + int64_t(ind[k]) * ld);
        p1 += a[k + 1] * L::load(X + int64_t(ind[k + 1]) * ld);
        p2 += a[k + 2] * L::load(X + int64_t(ind[k + 2]) * ld);
        p3 += a[k + 3] * L::load(X + int64_t(ind[k + 3]) * ld);
    }
    for (; k < e; ++k) p0 += a[k] * L::load(X + int64_t(ind[k]) * ld);
    return (p0 + p1) + (p2 + p3);
}

// Prefetch into L2 the cache lines of a and ind up to STREAM entries past e, from entry
// `next` on (then advanced past them).
template <typename V, typename I>
GOSPLAN_INLINE void stream_ahead(const V* a, const I* ind, int64_t& next, int64_t e, int64_t last) {
    constexpr int64_t VL = 64 / sizeof(V), IL = 64 / sizeof(I);
    const int64_t want = e + STREAM < last ? e + STREAM : last;
    for (; next < want; next += VL) {
        __builtin_prefetch(a + next, 0, 2);
        if (next % IL < VL) __builtin_prefetch(ind + next, 0, 2);
    }
}

// Rows [r0, r1), columns [c0, c0 + W): r = D - X + A X, out = X + r (times inv), sumsq += r^2
// (accumulated in float64). S is ld when it is known at compile time (one block of W
// columns), else 0. Each row's W columns stay one SIMD value from the sum to the store.
template <int W, int S, typename V, typename I>
GOSPLAN_INLINE void step_rows(const I* ptr, const I* ind, const V* a, const V* X, const V* D, V* out, const V* inv,
                              int64_t r0, int64_t r1, int64_t ld_, int64_t c0, double* sumsq) {
    typedef Lanes<W, V> L;
    typedef Lanes<W, double> L64;
    const int64_t ld = S ? S : ld_;
    const int64_t last = int64_t(ptr[r1]) - 1;
    typename L64::type ss = {};
    int64_t next = int64_t(ptr[r0]);  // the first entry whose cache lines of a and ind are not yet prefetched
    for (int64_t i = r0; i < r1; ++i) {
        stream_ahead(a, ind, next, int64_t(ptr[i + 1]), last);
        const typename L::type s = row_dot<W, S>(a, ind, int64_t(ptr[i]), int64_t(ptr[i + 1]), last, X + c0, ld);
        const int64_t o = i * ld + c0;
        const typename L::type x = L::load(X + o);
        const typename L::type r = L::load(D + o) - x + s;
        L::store(out + o, x + (inv ? r * inv[i] : r));
        typename L64::type r64;
        if constexpr (W == 1) r64 = double(r);
        else r64 = __builtin_convertvector(r, typename L64::type);
        ss += r64 * r64;
    }
    double sv[W];
    L64::store(sv, ss);
    for (int c = 0; c < W; ++c) sumsq[c0 + c] += sv[c];
}

// Y[j, :] += a_ij X[i, :] for the rows i in [r0, r1): a part of Y += A^T X. Rows of X
// and Y are ld long. For ld = 1, 2, 4 or a multiple of 8 (W = 1, 2, 4, 8), each row of Y is
// updated as SIMD values of W columns (W = 1 for one column), as the padded blocks of
// the callers allow; otherwise (W = 0) column by column.
template <int W, typename V, typename I>
GOSPLAN_INLINE void scatter_rows(const I* ptr, const I* ind, const V* a, const V* X, V* Y, int64_t r0, int64_t r1,
                                 int64_t ld) {
    typedef Lanes<W ? W : 1, V> L;
    const int64_t last = int64_t(ptr[r1]) - 1;
    int64_t next = int64_t(ptr[r0]);
    for (int64_t i = r0; i < r1; ++i) {
        stream_ahead(a, ind, next, int64_t(ptr[i + 1]), last);
        const V* xi = X + i * ld;
        bool any = false;
        for (int64_t c = 0; c < ld; ++c) any |= xi[c] != 0;
        if (!any) continue;
        const int64_t s = int64_t(ptr[i]), e = int64_t(ptr[i + 1]);
        if constexpr (W == 0) {
            for (int64_t p = s; p < e; ++p) {
                V* y = Y + int64_t(ind[p]) * ld;
                for (int64_t c = 0; c < ld; ++c) y[c] += a[p] * xi[c];
            }
        } else {
            for (int64_t c0 = 0; c0 < ld; c0 += W) {
                const typename L::type x = L::load(xi + c0);
                for (int64_t p = s; p < e; ++p) {
                    V* y = Y + int64_t(ind[p]) * ld + c0;
                    L::store(y, L::load(y) + a[p] * x);
                }
            }
        }
    }
}

// A padded block of one width (ld = 1, 2, 4 or 8) with its row length fixed at compile
// time; wider blocks in widths of 8, 4, 2 and 1 with the row length at run time.
#define GOSPLAN_BY_WIDTH(KERNEL, ...)                                        \
    if (ld == 1 || ld == 2 || ld == 4 || ld == 8) {                          \
        const int64_t c0 = 0;                                                \
        if (ld == 8) KERNEL<8, 8>(__VA_ARGS__);                              \
        else if (ld == 4) KERNEL<4, 4>(__VA_ARGS__);                         \
        else if (ld == 2) KERNEL<2, 2>(__VA_ARGS__);                         \
        else KERNEL<1, 1>(__VA_ARGS__);                                      \
        return;                                                              \
    }                                                                        \
    for (int64_t c0 = 0; c0 < ld;) {                                         \
        const int64_t left = ld - c0;                                        \
        const int w = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;    \
        if (w == 8) KERNEL<8, 0>(__VA_ARGS__);                               \
        else if (w == 4) KERNEL<4, 0>(__VA_ARGS__);                          \
        else if (w == 2) KERNEL<2, 0>(__VA_ARGS__);                          \
        else KERNEL<1, 0>(__VA_ARGS__);                                      \
        c0 += w;                                                             \
    }

template <typename V, typename I>
GOSPLAN_INLINE void step(const I* ptr, const I* ind, const V* a, const V* X, const V* D, V* out, const V* inv,
                         int64_t r0, int64_t r1, int64_t ld, double* sumsq) {
    if (r1 <= r0) return;
    GOSPLAN_BY_WIDTH(step_rows, ptr, ind, a, X, D, out, inv, r0, r1, ld, c0, sumsq)
}

template <typename V, typename I>
GOSPLAN_INLINE void scatter(const I* ptr, const I* ind, const V* a, const V* X, V* Y, int64_t r0, int64_t r1,
                            int64_t ld) {
    if (ld % 8 == 0) scatter_rows<8>(ptr, ind, a, X, Y, r0, r1, ld);
    else if (ld == 4) scatter_rows<4>(ptr, ind, a, X, Y, r0, r1, ld);
    else if (ld == 2) scatter_rows<2>(ptr, ind, a, X, Y, r0, r1, ld);
    else if (ld == 1) scatter_rows<1>(ptr, ind, a, X, Y, r0, r1, ld);
    else scatter_rows<0>(ptr, ind, a, X, Y, r0, r1, ld);
}

// s = sum of the buffers (then cleared for the next step), r = D - X + s, out = X + r (times inv).
template <typename V>
GOSPLAN_INLINE void combine(V* const* parts, int nparts, const V* X, const V* D, V* out, const V* inv, int64_t r0,
                            int64_t r1, int64_t ld, double* sumsq) {
    for (int64_t i = r0; i < r1; ++i) {
        const V w = inv ? inv[i] : V(1);
        for (int64_t c = 0; c < ld; ++c) {
            const int64_t o = i * ld + c;
            V s = 0;
            for (int p = 0; p < nparts; ++p) {
                s += parts[p][o];
                parts[p][o] = 0;
            }
            const V r = D[o] - X[o] + s;
            out[o] = X[o] + (inv ? r * w : r);
            sumsq[c] += double(r) * double(r);
        }
    }
}

// counts[j] += 1 for every entry of the rows r0..r1 in column j (this block's share of the
// column counts of A, i.e. of the row lengths of A^T).
// Columns with skip[j] != 0 are left out (skip may be null).
template <typename I, typename C>
GOSPLAN_INLINE void count_cols(const I* ptr, const I* ind, C* counts, const uint8_t* skip, int64_t r0, int64_t r1) {
    if (skip) {
        for (int64_t k = ptr[r0]; k < ptr[r1]; ++k)
            if (!skip[ind[k]]) ++counts[ind[k]];
    } else {
        for (int64_t k = ptr[r0]; k < ptr[r1]; ++k) ++counts[ind[k]];
    }
}

// Entry (i, j, a) of the rows r0..r1 goes to position pos[j]++ of the transposed arrays
// (column id i, value a). Rows are visited in order, so each row of A^T gets its column ids
// sorted as long as the blocks' positions were laid out in row order.
template <typename V, typename I, typename C>
GOSPLAN_INLINE void place_cols(const I* ptr, const I* ind, const V* a, C* pos, I* indT, V* aT, const uint8_t* skip,
                               int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i)
        for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
            if (skip && skip[ind[k]]) continue;
            const C p = pos[ind[k]]++;
            indT[p] = I(i);
            aT[p] = a[k];
        }
}

// The entries of the rows r0..r1 in the columns with pick[j] != 0, as a CSR matrix of those
// columns only (column j becomes remap[j]): with fill false, rowlen[i] = their number per row;
// with fill true, they are written from ptrH[i] on.
template <typename V, typename I>
GOSPLAN_INLINE void pick_cols(const I* ptr, const I* ind, const V* a, const uint8_t* pick, const I* remap, I* ptrH,
                              I* indH, V* aH, bool fill, int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
        I p = fill ? ptrH[i] : I(0);
        for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k)
            if (pick[ind[k]]) {
                if (fill) {
                    indH[p] = remap[ind[k]];
                    aH[p] = a[k];
                }
                ++p;
            }
        if (!fill) ptrH[i + 1] = p;
    }
}

// The sum of a[r0..r1) (float64), in 8 SIMD partial sums: a pass that only reads, for the benchmarks'
// bandwidth probe (NumPy's sum can read below what the memory gives: on the development VM it
// read 30-35 GB/s on two cores in minutes when a SIMD pass read 47-56).
GOSPLAN_INLINE double read_sum(const double* a, int64_t r0, int64_t r1) {
    typedef Lanes<8, double> L;
    L::type p[8] = {};
    int64_t i = r0;
    for (; i + 64 <= r1; i += 64)
        for (int q = 0; q < 8; ++q) p[q] += L::load(a + i + 8 * q);
    double s = 0;
    for (; i < r1; ++i) s += a[i];
    double v[8];
    L::store(v, ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])));
    for (int c = 0; c < 8; ++c) s += v[c];
    return s;
}

// ---- one entry point per instruction set ------------------------------------------------------

struct Args {
    const void *ptr, *ind, *a, *X, *D, *inv;
    void* out;
    void *indT, *aT;  // the transpose's arrays (place); out holds the counts or positions
    const uint8_t* skip;  // columns left out of the transpose (count, place), or null
    void* const* parts;
    int nparts;
    int64_t r0, r1, ld;
    bool f32, i64;
    double* sumsq;
};

template <typename V, typename I>
GOSPLAN_INLINE void run_typed(int op, const Args& g) {
    const I* ptr = static_cast<const I*>(g.ptr);
    const I* ind = static_cast<const I*>(g.ind);
    const V* a = static_cast<const V*>(g.a);
    const V* X = static_cast<const V*>(g.X);
    if (op == 3)
        *g.sumsq = read_sum(static_cast<const double*>(g.a), g.r0, g.r1);
    else if (op == 4)  // the counts have the index type of the matrix
        count_cols<I, I>(ptr, ind, static_cast<I*>(g.out), g.skip, g.r0, g.r1);
    else if (op == 6 || op == 7)  // pick: out = row pointers (lengths at i + 1 for op 6), indT/aT the picked entries
        pick_cols<V, I>(ptr, ind, a, g.skip, static_cast<const I*>(g.D), static_cast<I*>(g.out),
                        static_cast<I*>(g.indT), static_cast<V*>(g.aT), op == 7, g.r0, g.r1);
    else if (op == 5)
        place_cols<V, I, I>(ptr, ind, a, static_cast<I*>(g.out), static_cast<I*>(g.indT), static_cast<V*>(g.aT),
                            g.skip, g.r0, g.r1);
    else if (op == 0)
        step<V, I>(ptr, ind, a, X, static_cast<const V*>(g.D), static_cast<V*>(g.out), static_cast<const V*>(g.inv),
                   g.r0, g.r1, g.ld, g.sumsq);
    else if (op == 1)
        scatter<V, I>(ptr, ind, a, X, static_cast<V*>(g.out), g.r0, g.r1, g.ld);
    else
        combine<V>(reinterpret_cast<V* const*>(g.parts), g.nparts, X, static_cast<const V*>(g.D),
                   static_cast<V*>(g.out), static_cast<const V*>(g.inv), g.r0, g.r1, g.ld, g.sumsq);
}

GOSPLAN_INLINE void run_any(int op, const Args& g) {
    if (!g.f32 && !g.i64) run_typed<double, int32_t>(op, g);
    else if (!g.f32) run_typed<double, int64_t>(op, g);
    else if (!g.i64) run_typed<float, int32_t>(op, g);
    else run_typed<float, int64_t>(op, g);
}

void run_base(int op, const Args& g) { run_any(op, g); }
#ifdef GOSPLAN_X86
__attribute__((target("avx2,fma"))) void run_avx2(int op, const Args& g) { run_any(op, g); }
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))) void run_avx512(int op, const Args& g) { run_any(op, g); }
#endif

using Runner = void (*)(int, const Args&);
Runner runner = run_base;
const char* runner_name = "baseline";

// The best variant the CPU runs, or the one GOSPLAN_SERIES_ISA names (baseline, avx2,
// avx512) if the CPU runs it: the tests check every variant against SciPy that way.
void choose_runner() {
#ifdef GOSPLAN_X86
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512dq");
    const char* want = std::getenv("GOSPLAN_SERIES_ISA");
    const std::string w = want ? want : "";
    if (avx512 && (w.empty() || w == "avx512")) {
        runner = run_avx512;
        runner_name = "avx512";
    } else if (avx2 && (w.empty() || w == "avx512" || w == "avx2")) {
        runner = run_avx2;
        runner_name = "avx2";
    }
#endif
}

// ---- Python glue ------------------------------------------------------------------------------

// Buffers obtained from Python objects, released when the call returns.
struct Buffers {
    std::deque<Py_buffer> b;  // a deque: the addresses handed out stay valid as it grows
    ~Buffers() {
        for (auto& v : b) PyBuffer_Release(&v);
    }
    // nullptr with a Python error set on failure; None gives an empty buffer when allowed
    Py_buffer* get(PyObject* o, bool writable, const char* what, bool none_ok = false) {
        static Py_buffer empty{};
        if (o == Py_None && none_ok) return &empty;
        b.emplace_back();
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(o, &b.back(), flags) != 0) {
            b.pop_back();
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s array", what, writable ? " writable" : "");
            return nullptr;
        }
        return &b.back();
    }
};

// 'd', 'f', 'i', 'l'/'q' by item size; 0 for anything else
char kind_of(const Py_buffer& b) {
    if (!b.buf) return 0;
    const char* f = b.format ? b.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') ++f;
    if (b.itemsize == 8 && *f == 'd') return 'd';
    if (b.itemsize == 4 && *f == 'f') return 'f';
    if (b.itemsize == 4 && (*f == 'i' || *f == 'l')) return 'i';
    if (b.itemsize == 8 && (*f == 'l' || *f == 'q')) return 'q';
    return 0;
}

Py_ssize_t items(const Py_buffer* b) { return b->buf ? b->len / b->itemsize : 0; }

bool fail(PyObject* type, const char* msg) {
    PyErr_SetString(type, msg);
    return false;
}

// Checks a value dtype against the matrix's and a length; a null buffer passes.
bool same(std::initializer_list<const Py_buffer*> bufs, char vk, Py_ssize_t len, const char* msg) {
    for (const Py_buffer* b : bufs) {
        if (!b->buf) continue;
        if (kind_of(*b) != vk) return fail(PyExc_TypeError, "vectors must have the matrix's dtype");
        if (items(b) != len) return fail(PyExc_ValueError, msg);
    }
    return true;
}

// The matrix arrays and a row range: fills g.ptr, g.ind, g.a, g.f32, g.i64, g.r0, g.r1.
bool matrix_args(Buffers& bs, PyObject* optr, PyObject* oind, PyObject* odat, Py_ssize_t r0, Py_ssize_t r1,
                 Args& g, Py_ssize_t* nrow) {
    Py_buffer* ptr = bs.get(optr, false, "indptr");
    Py_buffer* ind = ptr ? bs.get(oind, false, "indices") : nullptr;
    Py_buffer* dat = ind ? bs.get(odat, false, "data") : nullptr;
    if (!dat) return false;
    const char ik = kind_of(*ind), vk = kind_of(*dat);
    if ((ik != 'i' && ik != 'q') || kind_of(*ptr) != ik)
        return fail(PyExc_TypeError, "indptr and indices must both be int32 or both int64");
    if (vk != 'd' && vk != 'f') return fail(PyExc_TypeError, "data must be float64 or float32");
    if (items(ind) != items(dat)) return fail(PyExc_ValueError, "indices and data differ in length");
    *nrow = items(ptr) - 1;
    if (r0 < 0 || r1 < r0 || r1 > *nrow) return fail(PyExc_ValueError, "row range out of bounds");
    g.ptr = ptr->buf, g.ind = ind->buf, g.a = dat->buf, g.f32 = vk == 'f', g.i64 = ik == 'q';
    g.r0 = r0, g.r1 = r1;
    return true;
}

PyObject* sums_tuple(const std::vector<double>& s) {
    PyObject* t = PyTuple_New(Py_ssize_t(s.size()));
    if (!t) return nullptr;
    for (size_t c = 0; c < s.size(); ++c) PyTuple_SET_ITEM(t, Py_ssize_t(c), PyFloat_FromDouble(s[c]));
    return t;
}

PyObject* run(int op, Args& g, std::vector<double>* sums) {
    Py_BEGIN_ALLOW_THREADS
    runner(op, g);
    Py_END_ALLOW_THREADS
    if (sums) return sums_tuple(*sums);
    Py_RETURN_NONE;
}

const char* STEP_DOC =
    "step(indptr, indices, data, X, D, out, inv_diag, r0, r1, ld) -> tuple of ld floats\n\n"
    "For the rows r0..r1-1 of the CSR matrix A: r = D - X + A X and out = X + r (times inv_diag\n"
    "unless it is None); returns the sum of r**2 per column. X, D and out are n x ld row-major\n"
    "blocks of the matrix's dtype, inv_diag has n entries. The column indices of A must lie in\n"
    "[0, n) (the caller checks them once per matrix).";

PyObject* py_step(PyObject*, PyObject* args) {
    PyObject *optr, *oind, *odat, *oX, *oD, *oout, *oinv;
    Py_ssize_t r0, r1, ld;
    if (!PyArg_ParseTuple(args, "OOOOOOOnnn", &optr, &oind, &odat, &oX, &oD, &oout, &oinv, &r0, &r1, &ld)) return nullptr;
    Buffers bs;
    Args g{};
    Py_ssize_t nrow;
    if (!matrix_args(bs, optr, oind, odat, r0, r1, g, &nrow)) return nullptr;
    Py_buffer* X = bs.get(oX, false, "X");
    Py_buffer* D = X ? bs.get(oD, false, "D") : nullptr;
    Py_buffer* out = D ? bs.get(oout, true, "out") : nullptr;
    Py_buffer* inv = out ? bs.get(oinv, false, "inv_diag", true) : nullptr;
    if (!inv) return nullptr;
    const char vk = g.f32 ? 'f' : 'd';
    if (ld < 1 || items(X) != nrow * ld) return fail(PyExc_ValueError, "X must hold n x ld values"), nullptr;
    if (!same({X, D, out}, vk, nrow * ld, "X, D and out must have the same shape") ||
        !same({inv}, vk, nrow, "inv_diag must have n entries"))
        return nullptr;
    std::vector<double> sums(size_t(ld), 0.0);
    g.X = X->buf, g.D = D->buf, g.out = out->buf, g.inv = inv->buf, g.ld = ld, g.sumsq = sums.data();
    return run(0, g, &sums);
}

const char* SCATTER_DOC =
    "scatter(indptr, indices, data, X, Y, r0, r1, ld)\n\n"
    "Y[j, :] += A[i, j] X[i, :] for the rows i = r0..r1-1 of the CSR matrix A (its part of\n"
    "Y += A^T X). X is n x ld, Y is m x ld, both of the matrix's dtype; the column indices of\n"
    "A must lie in [0, m) (the caller checks them once per matrix).";

PyObject* py_scatter(PyObject*, PyObject* args) {
    PyObject *optr, *oind, *odat, *oX, *oY;
    Py_ssize_t r0, r1, ld;
    if (!PyArg_ParseTuple(args, "OOOOOnnn", &optr, &oind, &odat, &oX, &oY, &r0, &r1, &ld)) return nullptr;
    Buffers bs;
    Args g{};
    Py_ssize_t nrow;
    if (!matrix_args(bs, optr, oind, odat, r0, r1, g, &nrow)) return nullptr;
    Py_buffer* X = bs.get(oX, false, "X");
    Py_buffer* Y = X ? bs.get(oY, true, "Y") : nullptr;
    if (!Y) return nullptr;
    const char vk = g.f32 ? 'f' : 'd';
    if (ld < 1 || items(X) != nrow * ld || items(Y) % ld) return fail(PyExc_ValueError, "X must be n x ld and Y m x ld"), nullptr;
    if (!same({X}, vk, nrow * ld, "X must hold n x ld values") || !same({Y}, vk, items(Y), "")) return nullptr;
    g.X = X->buf, g.out = Y->buf, g.ld = ld;
    return run(1, g, nullptr);
}

const char* COMBINE_DOC =
    "combine(parts, X, D, out, inv_diag, r0, r1, ld) -> tuple of ld floats\n\n"
    "For the rows r0..r1-1: s = the sum of the buffers in the list parts (cleared after),\n"
    "r = D - X + s and out = X + r (times inv_diag unless it is None); returns the sum of r**2\n"
    "per column. Every array is n x ld of one float dtype.";

PyObject* py_combine(PyObject*, PyObject* args) {
    PyObject *oparts, *oX, *oD, *oout, *oinv;
    Py_ssize_t r0, r1, ld;
    if (!PyArg_ParseTuple(args, "O!OOOOnnn", &PyList_Type, &oparts, &oX, &oD, &oout, &oinv, &r0, &r1, &ld)) return nullptr;
    const Py_ssize_t np = PyList_GET_SIZE(oparts);
    if (np < 1 || np > 64) return fail(PyExc_ValueError, "parts must hold 1 to 64 buffers"), nullptr;
    Buffers bs;
    Py_buffer* X = bs.get(oX, false, "X");
    Py_buffer* D = X ? bs.get(oD, false, "D") : nullptr;
    Py_buffer* out = D ? bs.get(oout, true, "out") : nullptr;
    Py_buffer* inv = out ? bs.get(oinv, false, "inv_diag", true) : nullptr;
    if (!inv) return nullptr;
    const char vk = kind_of(*X);
    if (vk != 'd' && vk != 'f') return fail(PyExc_TypeError, "X must be float64 or float32"), nullptr;
    if (ld < 1 || items(X) % ld) return fail(PyExc_ValueError, "X must hold n x ld values"), nullptr;
    const Py_ssize_t n = items(X) / ld;
    if (r0 < 0 || r1 < r0 || r1 > n) return fail(PyExc_ValueError, "row range out of bounds"), nullptr;
    if (!same({D, out}, vk, n * ld, "X, D and out must have the same shape") ||
        !same({inv}, vk, n, "inv_diag must have n entries"))
        return nullptr;
    std::vector<void*> pp(size_t(np), nullptr);
    for (Py_ssize_t p = 0; p < np; ++p) {
        Py_buffer* b = bs.get(PyList_GET_ITEM(oparts, p), true, "parts");
        if (!b || !same({b}, vk, n * ld, "every buffer in parts must be n x ld")) return nullptr;
        pp[size_t(p)] = b->buf;
    }
    std::vector<double> sums(size_t(ld), 0.0);
    Args g{};
    g.X = X->buf, g.D = D->buf, g.out = out->buf, g.inv = inv->buf, g.parts = pp.data(), g.nparts = int(np);
    g.r0 = r0, g.r1 = r1, g.ld = ld, g.f32 = vk == 'f', g.sumsq = sums.data();
    return run(2, g, &sums);
}

const char* COUNT_DOC =
    "count(indptr, indices, data, counts, r0, r1, skip=None)\n\n"
    "counts[j] += 1 for every entry of the rows r0..r1-1 of the CSR matrix A in column j, except\n"
    "the columns with skip[j] != 0 (skip: uint8, one per column, or None). counts has one entry\n"
    "per column of A and the dtype of indices; the column indices must lie in [0, len(counts))\n"
    "(the caller checks them once per matrix).";

// skip: None, or a uint8 array of m entries; fills g.skip
bool skip_arg(Buffers& bs, PyObject* oskip, Py_ssize_t m, Args& g) {
    Py_buffer* skip = bs.get(oskip, false, "skip", true);
    if (!skip) return false;
    if (skip->buf && (skip->itemsize != 1 || items(skip) != m))
        return fail(PyExc_ValueError, "skip must be a uint8 array with one entry per column");
    g.skip = static_cast<const uint8_t*>(skip->buf);
    return true;
}

PyObject* py_count(PyObject*, PyObject* args) {
    PyObject *optr, *oind, *odat, *ocounts, *oskip = Py_None;
    Py_ssize_t r0, r1;
    if (!PyArg_ParseTuple(args, "OOOOnn|O", &optr, &oind, &odat, &ocounts, &r0, &r1, &oskip)) return nullptr;
    Buffers bs;
    Args g{};
    Py_ssize_t nrow;
    if (!matrix_args(bs, optr, oind, odat, r0, r1, g, &nrow)) return nullptr;
    Py_buffer* counts = bs.get(ocounts, true, "counts");
    if (!counts) return nullptr;
    if (kind_of(*counts) != (g.i64 ? 'q' : 'i')) return fail(PyExc_TypeError, "counts must have the dtype of indices"), nullptr;
    if (!skip_arg(bs, oskip, items(counts), g)) return nullptr;
    g.out = counts->buf;
    return run(4, g, nullptr);
}

const char* PLACE_DOC =
    "place(indptr, indices, data, positions, indices_t, data_t, r0, r1, skip=None)\n\n"
    "For the rows i = r0..r1-1 of the CSR matrix A, in order, each entry (i, j, a) is written\n"
    "to position p = positions[j] of the transposed arrays (indices_t[p] = i, data_t[p] = a)\n"
    "and positions[j] is advanced; entries in columns with skip[j] != 0 are left out. positions\n"
    "has the dtype of indices, one entry per column; indices_t and data_t have A's dtypes and\n"
    "room for every entry placed. The caller lays out the positions\n"
    "so that no two blocks write the same place.";

PyObject* py_place(PyObject*, PyObject* args) {
    PyObject *optr, *oind, *odat, *opos, *oindT, *oaT, *oskip = Py_None;
    Py_ssize_t r0, r1;
    if (!PyArg_ParseTuple(args, "OOOOOOnn|O", &optr, &oind, &odat, &opos, &oindT, &oaT, &r0, &r1, &oskip))
        return nullptr;
    Buffers bs;
    Args g{};
    Py_ssize_t nrow;
    if (!matrix_args(bs, optr, oind, odat, r0, r1, g, &nrow)) return nullptr;
    const Py_ssize_t nnz = items(bs.get(oind, false, "indices"));
    Py_buffer* pos = bs.get(opos, true, "positions");
    Py_buffer* indT = pos ? bs.get(oindT, true, "indices_t") : nullptr;
    Py_buffer* aT = indT ? bs.get(oaT, true, "data_t") : nullptr;
    if (!aT) return nullptr;
    const char ik = g.i64 ? 'q' : 'i', vk = g.f32 ? 'f' : 'd';
    if (kind_of(*pos) != ik || kind_of(*indT) != ik || kind_of(*aT) != vk)
        return fail(PyExc_TypeError, "positions and indices_t must have the dtype of indices, data_t that of data"), nullptr;
    if (!skip_arg(bs, oskip, items(pos), g)) return nullptr;
    // without skip every entry is placed; with it, the caller sized the arrays to the entries kept
    if ((!g.skip && items(indT) != nnz) || items(aT) != items(indT))
        return fail(PyExc_ValueError, "indices_t and data_t must hold an entry for every entry placed"), nullptr;
    g.out = pos->buf, g.indT = indT->buf, g.aT = aT->buf;
    return run(5, g, nullptr);
}

const char* PICK_DOC =
    "pick(indptr, indices, data, pick, remap, indptr_h, indices_h, data_h, r0, r1)\n\n"
    "The entries of the rows r0..r1-1 of the CSR matrix A in the columns with pick[j] != 0, as\n"
    "a CSR matrix H of those columns (column j of A is column remap[j] of H). With indices_h\n"
    "None, indptr_h[i + 1] = their number in row i; else they are written from indptr_h[i] on\n"
    "(the caller has summed the numbers into row pointers). pick is uint8 with one entry per\n"
    "column, remap, indptr_h (n + 1 entries) and indices_h have the dtype of indices.";

PyObject* py_pick(PyObject*, PyObject* args) {
    PyObject *optr, *oind, *odat, *opick, *oremap, *optrH, *oindH, *oaH;
    Py_ssize_t r0, r1;
    if (!PyArg_ParseTuple(args, "OOOOOOOOnn", &optr, &oind, &odat, &opick, &oremap, &optrH, &oindH, &oaH, &r0, &r1))
        return nullptr;
    Buffers bs;
    Args g{};
    Py_ssize_t nrow;
    if (!matrix_args(bs, optr, oind, odat, r0, r1, g, &nrow)) return nullptr;
    Py_buffer* remap = bs.get(oremap, false, "remap");
    if (!remap) return nullptr;
    const char ik = g.i64 ? 'q' : 'i', vk = g.f32 ? 'f' : 'd';
    if (kind_of(*remap) != ik) return fail(PyExc_TypeError, "remap must have the dtype of indices"), nullptr;
    if (!skip_arg(bs, opick, items(remap), g)) return nullptr;
    if (!g.skip) return fail(PyExc_ValueError, "pick must be a uint8 array, not None"), nullptr;
    Py_buffer* ptrH = bs.get(optrH, true, "indptr_h");
    if (!ptrH) return nullptr;
    if (kind_of(*ptrH) != ik || items(ptrH) != nrow + 1)
        return fail(PyExc_ValueError, "indptr_h must have n + 1 entries of the dtype of indices"), nullptr;
    const bool fill = oindH != Py_None;
    if (fill) {
        Py_buffer* indH = bs.get(oindH, true, "indices_h");
        Py_buffer* aH = indH ? bs.get(oaH, true, "data_h") : nullptr;
        if (!aH) return nullptr;
        if (kind_of(*indH) != ik || kind_of(*aH) != vk || items(indH) != items(aH))
            return fail(PyExc_TypeError, "indices_h and data_h must have A's dtypes and one length"), nullptr;
        g.indT = indH->buf, g.aT = aH->buf;
    }
    g.D = remap->buf, g.out = ptrH->buf;
    return run(fill ? 7 : 6, g, nullptr);
}

const char* READ_DOC =
    "read(a, start, stop) -> float\n\n"
    "The sum of a[start:stop] for a float64 array, read once with SIMD loads and the GIL\n"
    "released: a pass that only reads memory, as a bandwidth probe.";

PyObject* py_read(PyObject*, PyObject* args) {
    PyObject* oa;
    Py_ssize_t r0, r1;
    if (!PyArg_ParseTuple(args, "Onn", &oa, &r0, &r1)) return nullptr;
    Buffers bs;
    Py_buffer* a = bs.get(oa, false, "a");
    if (!a) return nullptr;
    if (kind_of(*a) != 'd') return fail(PyExc_TypeError, "a must be float64"), nullptr;
    if (r0 < 0 || r1 < r0 || r1 > items(a)) return fail(PyExc_ValueError, "range out of bounds"), nullptr;
    double sum = 0;
    Args g{};
    g.a = a->buf, g.r0 = r0, g.r1 = r1, g.sumsq = &sum;
    run(3, g, nullptr);
    return PyFloat_FromDouble(sum);
}

PyMethodDef METHODS[] = {
    {"read", py_read, METH_VARARGS, READ_DOC},
    {"step", py_step, METH_VARARGS, STEP_DOC},
    {"scatter", py_scatter, METH_VARARGS, SCATTER_DOC},
    {"combine", py_combine, METH_VARARGS, COMBINE_DOC},
    {"count", py_count, METH_VARARGS, COUNT_DOC},
    {"place", py_place, METH_VARARGS, PLACE_DOC},
    {"pick", py_pick, METH_VARARGS, PICK_DOC},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_series", "Fused Neumann/Jacobi series kernels on CSR matrices.",
                      -1, METHODS, nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__series(void) {
    choose_runner();
    PyObject* m = PyModule_Create(&MODULE);
    if (m && PyModule_AddStringConstant(m, "isa", runner_name) != 0) {
        Py_DECREF(m);
        return nullptr;
    }
    return m;
}
