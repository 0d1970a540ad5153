// What one entry of a sparse series step costs the core, against what memory can stream.
//
// The series step y = A x reads A once (12 bytes an entry: a float64 value and an int32
// column id) and, for each entry, a row of the iterate block X (k right-hand sides, padded
// to 1, 4 or 8 values): a row at a column id, i.e. at random within the columns a product
// row uses. This program measures, on one core and on all cores:
//
//   * stream:  read bandwidth of a plain pass over 1 GiB (what bench_leontief's bound uses);
//   * gather:  ns per entry of sum += a[p] * X[ind[p]] (a row of W float64, W = 1, 4, 8),
//              with the column ids drawn at random from a window of R rows, for windows that
//              fit L1, L2, L3 and none; 4 independent partial sums, no prefetching.
//
// A step at n = 10^6 with 50 inputs per product does 2.5 * 10^7 entries per core on two
// cores: with X rows of 8 values gathered from an L2-resident window, entries x ns/entry
// is already near the time the matrix takes to stream, before any other work.
//
// Build and run (any x86-64 with AVX-512 or AVX2; GCC or Clang):
//     g++ -O3 -march=native -pthread benchmarks/gather_cost.cpp -o /tmp/gather_cost && /tmp/gather_cost

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Memory in 2 MiB aligned huge pages where the kernel allows (as NumPy asks for large arrays).
void* alloc(size_t bytes) {
    const size_t al = size_t(2) << 20;
    bytes = (bytes + al - 1) / al * al;
    void* p = std::aligned_alloc(al, bytes);
    if (!p) std::abort();
    madvise(p, bytes, MADV_HUGEPAGE);
    std::memset(p, 0, bytes);
    return p;
}

volatile double sink;

template <int W>
struct Row {
    typedef double type __attribute__((vector_size(W * sizeof(double))));
};
template <>
struct Row<1> {
    typedef double type;
};

template <int W>
void gather(const int32_t* ind, const double* a, const double* X, int64_t m) {
    typedef typename Row<W>::type V;
    V p0 = {}, p1 = {}, p2 = {}, p3 = {};
    for (int64_t k = 0; k + 4 <= m; k += 4) {
        V x0, x1, x2, x3;
        std::memcpy(&x0, X + int64_t(ind[k]) * W, sizeof(V));
        std::memcpy(&x1, X + int64_t(ind[k + 1]) * W, sizeof(V));
        std::memcpy(&x2, X + int64_t(ind[k + 2]) * W, sizeof(V));
        std::memcpy(&x3, X + int64_t(ind[k + 3]) * W, sizeof(V));
        p0 += a[k] * x0;
        p1 += a[k + 1] * x1;
        p2 += a[k + 2] * x2;
        p3 += a[k + 3] * x3;
    }
    V s = (p0 + p1) + (p2 + p3);
    double t;
    std::memcpy(&t, &s, sizeof(double));
    sink = t;
}

void stream(const double* a, int64_t m) {
    typedef Row<8>::type V;
    V p[4] = {};
    for (int64_t i = 0; i + 32 <= m; i += 32)
        for (int q = 0; q < 4; ++q) {
            V v;
            std::memcpy(&v, a + i + 8 * q, sizeof(V));
            p[q] += v;
        }
    V s = (p[0] + p[1]) + (p[2] + p[3]);
    double t;
    std::memcpy(&t, &s, sizeof(double));
    sink = t;
}

// The best of `reps` runs of fn(part) on `threads` threads, each on its own part.
template <typename F>
double best_of(int threads, int reps, F fn) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t = now();
        std::vector<std::thread> pool;
        for (int t_ = 0; t_ < threads; ++t_) pool.emplace_back(fn, t_);
        for (auto& th : pool) th.join();
        best = std::min(best, now() - t);
    }
    return best;
}

}  // namespace

int main() {
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    const int64_t bytes = int64_t(1) << 30, words = bytes / 8;
    double* big = static_cast<double*>(alloc(bytes));
    for (int64_t i = 0; i < words; ++i) big[i] = 1.0;
    std::printf("stream read of 1 GiB, best of 5:\n");
    for (int th : {1, cores}) {
        const int64_t part = words / th;
        const double s = best_of(th, 5, [&](int t) { stream(big + t * part, part); });
        std::printf("  %d thread%s %6.1f GB/s\n", th, th > 1 ? "s" : "", bytes / s / 1e9);
    }
    std::free(big);

    const int64_t m = 20'000'000;  // entries per thread
    std::printf("\ngather: ns per entry, best of 3, %lld entries per thread, ids uniform over a window of R rows\n",
                static_cast<long long>(m));
    std::printf("%10s %10s %10s %10s %10s\n", "R rows", "KiB (W=8)", "W=1", "W=4", "W=8");
    for (int64_t R : {64, 512, 4096, 16384, 262144, 4194304}) {
        std::vector<int32_t*> ind(cores);
        std::vector<double*> val(cores);
        std::mt19937 rng(1);
        for (int t = 0; t < cores; ++t) {
            ind[t] = static_cast<int32_t*>(alloc(m * 4));
            val[t] = static_cast<double*>(alloc(m * 8));
            for (int64_t k = 0; k < m; ++k) ind[t][k] = int32_t(rng() % R), val[t][k] = 1e-3;
        }
        double* X = static_cast<double*>(alloc(R * 64));
        double ns[3][2];
        int c = 0;
        for (int W : {1, 4, 8}) {
            int i = 0;
            for (int th : {1, cores}) {
                const double s = best_of(th, 3, [&](int t) {
                    if (W == 1) gather<1>(ind[t], val[t], X, m);
                    else if (W == 4) gather<4>(ind[t], val[t], X, m);
                    else gather<8>(ind[t], val[t], X, m);
                });
                ns[c][i++] = s / m * 1e9;
            }
            ++c;
        }
        std::printf("%10lld %10lld", static_cast<long long>(R), static_cast<long long>(R * 64 / 1024));
        for (int w = 0; w < 3; ++w) std::printf(" %4.2f/%4.2f", ns[w][0], ns[w][1]);
        std::printf("   (1 thread / %d threads each)\n", cores);
        std::free(X);
        for (int t = 0; t < cores; ++t) std::free(ind[t]), std::free(val[t]);
    }
}
