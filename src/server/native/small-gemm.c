// The BLAS shim's small-M kernel: C[M,N] = alpha * A[M,K] * B[N,K]^T + beta * C, 1 <= M <= 48.
// That is every linear layer of a decode step over M running sequences (A = activations,
// B = the weight matrix, row-major [out, in]). OpenBLAS packs B into panels on every call, which
// costs more than the arithmetic at such M and streams the weights at ~6 GB/s here; this kernel
// reads each weight row once from memory, keeps a block of 4 rows in L1/L2 while all M rows of A
// pass over it, and splits the rows of B between a small pool of persistent threads.
// Built with skinny-gemm.c (the shim's interposer) by scripts/setup.sh; x86-64 with AVX2+FMA or
// AVX-512, else not used.
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NR 4         // rows of B (output columns) per block
// Rows of A per micro-kernel: MR x NR accumulators, NR rows of B and one of A must stay in vector
// registers. AVX-512 has 32 (4 x 4 + 4 + 1 fit); AVX2 has 16, where 4 x 4 spills to the stack
// and runs at half speed, so AVX2 takes 3 rows of A at a time.
#define MR_AVX512 4
#ifndef AVX2_MR
#define AVX2_MR 3
#endif
#define MAX_THREADS 8
// With 2-8 rows of A (a decode step of a few sequences) the weights stream from memory, and the
// loop has so much arithmetic per weight line that the core's window of instructions in flight
// no longer reaches far enough ahead to keep memory busy: the first pass over each block of 4
// weight rows asks for their lines PREFETCH_AHEAD floats (1 KB) ahead. 2-8 rows ran 10-25% faster
// here with it. Past PREFETCH_ROWS the products are bound by arithmetic on weights in cache,
// where the extra instructions cost more than they bring; the one-row kernel's plain stream
// does not need it.
#define PREFETCH_AHEAD 256
#define PREFETCH_ROWS 8

typedef struct {
  int M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int nthreads;
  int kfull;  // K rounded down to the kernel's vector width (the rest is done in scalar)
} Job;

typedef void (*slice_fn)(const Job *, int n0, int n1);

typedef float v4 __attribute__((vector_size(16)));

// ---- micro-kernels: one body, compiled for AVX-512 (16 lanes) and AVX2+FMA (8 lanes) ----

// One row of A against the 4 rows of B in registers: 4 fused multiply-adds.
#define ROW_FMA(i)                                                                                  \
  if (mr > i) {                                                                                     \
    V av = LOAD(a + (size_t)i * lda + k);                                                           \
    c##i##0 += av * b0;                                                                             \
    c##i##1 += av * b1;                                                                             \
    c##i##2 += av * b2;                                                                             \
    c##i##3 += av * b3;                                                                             \
  }
#define ROW_STORE(i)                                                                                \
  if (mr > i) store4(j, m0 + i, n0, REDUCE4(c##i##0, c##i##1, c##i##2, c##i##3));

// Writes alpha * s + beta * C to C[m, n..n+4], s being 4 dot products (plus their K tail).
static inline __attribute__((always_inline)) void store4(const Job *j, int m, int n, v4 s) {
  if (j->kfull < j->K) {
    const float *a = j->A + (size_t)m * j->lda;
    for (int c = 0; c < 4; c++) {
      const float *b = j->B + (size_t)(n + c) * j->ldb;
      for (int k = j->kfull; k < j->K; k++) s[c] += a[k] * b[k];
    }
  }
  float *out = j->C + (size_t)m * j->ldc + n;
  v4 r = s * j->alpha;
  if (j->beta != 0) {
    v4 old;
    memcpy(&old, out, sizeof old);
    r += old * j->beta;
  }
  memcpy(out, &r, sizeof r);
}

// Four accumulators to their four sums: halves added, then three horizontal adds.
__attribute__((target("avx2,fma"))) static inline v4 reduce4_ymm(__m256 a, __m256 b, __m256 c, __m256 d) {
  __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return (v4)_mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}
#define HALF_SUM(x) \
  _mm256_add_ps(_mm512_castps512_ps256((__m512)(x)), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)(x)), 1)))
__attribute__((target("avx512f,fma"))) static inline v4 reduce4_zmm(__m512 a, __m512 b, __m512 c, __m512 d) {
  __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(HALF_SUM(a), HALF_SUM(b)), _mm256_hadd_ps(HALF_SUM(c), HALF_SUM(d)));
  return (v4)_mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// micro(mr, fetch) with both as constants, so that each combination is compiled on its own.
#define MICRO_CALL(SUFFIX, MR, FETCH)                                                               \
  switch (MR) {                                                                                     \
    case 1: micro_##SUFFIX(1, FETCH, j, m, n); break;                                               \
    case 2: micro_##SUFFIX(2, FETCH, j, m, n); break;                                               \
    case 3: micro_##SUFFIX(3, FETCH, j, m, n); break;                                               \
    default: micro_##SUFFIX(4, FETCH, j, m, n); break;                                              \
  }

#define DEFINE_KERNELS(SUFFIX, TARGET, LANES, MR_)                                                    \
  typedef float vec_##SUFFIX __attribute__((vector_size(LANES * 4), aligned(4)));                  \
  /* C[m0..m0+mr, n0..n0+4]: mr (1-4, a constant after inlining) rows of A by 4 rows of B. */      \
  __attribute__((target(TARGET), always_inline)) static inline void micro_##SUFFIX(                 \
      const int mr, const int fetch, const Job *j, int m0, int n0) {                                \
    typedef vec_##SUFFIX V;                                                                         \
    V c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0}, c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};       \
    V c20 = {0}, c21 = {0}, c22 = {0}, c23 = {0}, c30 = {0}, c31 = {0}, c32 = {0}, c33 = {0};       \
    const size_t lda = (size_t)j->lda, ldb = (size_t)j->ldb;                                        \
    const float *a = j->A + (size_t)m0 * lda, *b = j->B + (size_t)n0 * ldb;                         \
    for (int k = 0; k + LANES <= j->K; k += LANES) {                                                \
      if (fetch) {                                                                                  \
        __builtin_prefetch(b + k + PREFETCH_AHEAD);                                                 \
        __builtin_prefetch(b + ldb + k + PREFETCH_AHEAD);                                           \
        __builtin_prefetch(b + 2 * ldb + k + PREFETCH_AHEAD);                                       \
        __builtin_prefetch(b + 3 * ldb + k + PREFETCH_AHEAD);                                       \
      }                                                                                             \
      V b0 = LOAD(b + k), b1 = LOAD(b + ldb + k), b2 = LOAD(b + 2 * ldb + k), b3 = LOAD(b + 3 * ldb + k); \
      ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3)                                                   \
    }                                                                                               \
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3)                                             \
  }                                                                                                 \
  /* One row of A (a decode step of one sequence): 8 rows of B at a time, 8 independent sums.    \
     Bound by reading B; 8 streams in flight read it ~15% faster here than the 4 of micro(1). */   \
  __attribute__((target(TARGET))) static int row_##SUFFIX(const Job *j, int n0, int n1) {          \
    typedef vec_##SUFFIX V;                                                                         \
    const size_t ldb = (size_t)j->ldb;                                                              \
    const float *a = j->A;                                                                          \
    int n = n0;                                                                                     \
    for (; n + 2 * NR <= n1; n += 2 * NR) {                                                         \
      const float *b = j->B + (size_t)n * ldb;                                                      \
      V c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0}, c6 = {0}, c7 = {0};             \
      for (int k = 0; k + LANES <= j->K; k += LANES) {                                              \
        V av = LOAD(a + k);                                                                         \
        c0 += av * LOAD(b + k);                                                                     \
        c1 += av * LOAD(b + ldb + k);                                                               \
        c2 += av * LOAD(b + 2 * ldb + k);                                                           \
        c3 += av * LOAD(b + 3 * ldb + k);                                                           \
        c4 += av * LOAD(b + 4 * ldb + k);                                                           \
        c5 += av * LOAD(b + 5 * ldb + k);                                                           \
        c6 += av * LOAD(b + 6 * ldb + k);                                                           \
        c7 += av * LOAD(b + 7 * ldb + k);                                                           \
      }                                                                                             \
      store4(j, 0, n, REDUCE4(c0, c1, c2, c3));                                                     \
      store4(j, 0, n + NR, REDUCE4(c4, c5, c6, c7));                                                \
    }                                                                                               \
    return n;                                                                                       \
  }                                                                                                 \
  __attribute__((target(TARGET))) static void slice_##SUFFIX(const Job *j, int n0, int n1) {       \
    if (j->M == 1) n0 = row_##SUFFIX(j, n0, n1);                                                    \
    for (int n = n0; n < n1; n += NR)                                                               \
      for (int m = 0; m < j->M; m += MR_) {                                                         \
        const int mr = j->M - m < MR_ ? j->M - m : MR_;                                             \
        if (m == 0 && j->M <= PREFETCH_ROWS) MICRO_CALL(SUFFIX, mr, 1)                              \
        else MICRO_CALL(SUFFIX, mr, 0)                                                              \
      }                                                                                             \
  }

#define LOAD(p) (*(const V *)(p))
#define REDUCE4(a, b, c, d) reduce4_zmm((__m512)(a), (__m512)(b), (__m512)(c), (__m512)(d))
DEFINE_KERNELS(avx512, "avx512f,fma", 16, MR_AVX512)
#undef REDUCE4
#define REDUCE4(a, b, c, d) reduce4_ymm((__m256)(a), (__m256)(b), (__m256)(c), (__m256)(d))
DEFINE_KERNELS(avx2, "avx2,fma", 8, AVX2_MR)

// The last N % NR output columns: plain dot products.
static void tail_columns(const Job *j, int n0) {
  for (int m = 0; m < j->M; m++)
    for (int n = n0; n < j->N; n++) {
      const float *a = j->A + (size_t)m * j->lda, *b = j->B + (size_t)n * j->ldb;
      float s = 0;
      for (int k = 0; k < j->K; k++) s += a[k] * b[k];
      float *out = j->C + (size_t)m * j->ldc + n;
      *out = j->beta == 0 ? j->alpha * s : j->alpha * s + j->beta * *out;
    }
}

static slice_fn kernel;
static int kernel_lanes;

// ---- thread pool: workers spin briefly after a job, then sleep on a condition variable ----
// The spin is short (~2,000 pauses, ~50 us here): long enough to catch the next product of a
// decode step (a decode step's products follow each other within microseconds), short enough
// that a spinning worker does not take a core from OpenBLAS's threads or MLX's own work when the
// pass moves on to attention or a prompt's large products. Spinning 200,000 pauses (~5 ms) made
// a step of one decode row and 8 prompt tokens 1.7x slower and left decode steps unchanged.
#define SPIN_PAUSES 2000

static Job job;
static atomic_int generation, remaining;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int pool_size = 1;  // threads including the caller
static int started_workers;

static inline void relax(void) { __builtin_ia32_pause(); }

// Thread t's share of the NR-blocks of the full-block columns.
static void run_share(const Job *j, int t) {
  int blocks = j->N / NR;
  int b0 = (int)((long)blocks * t / j->nthreads), b1 = (int)((long)blocks * (t + 1) / j->nthreads);
  if (b1 > b0) kernel(j, b0 * NR, b1 * NR);
  if (t == j->nthreads - 1 && j->N % NR) tail_columns(j, blocks * NR);
}

static void *worker(void *arg) {
  int t = (int)(long)arg, seen = 0;
  for (;;) {
    int g = atomic_load_explicit(&generation, memory_order_acquire);
    for (int spin = 0; g == seen && spin < SPIN_PAUSES; spin++) {
      relax();
      g = atomic_load_explicit(&generation, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&mu);
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = g;
    if (t < job.nthreads) run_share(&job, t);
    atomic_fetch_sub_explicit(&remaining, 1, memory_order_release);
  }
  return NULL;
}

static void start_workers(int n) {
  for (; started_workers < n - 1; started_workers++) {
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, worker, (void *)(long)(started_workers + 1)) != 0) break;
    pthread_attr_destroy(&at);
  }
}

static int env_int(const char *name) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : 0;
}

static void init_once(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) kernel = slice_avx512, kernel_lanes = 16;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernel = slice_avx2, kernel_lanes = 8;
  int n = env_int("MLX_BATCH_GEMM_THREADS");
  if (n <= 0) n = env_int("OPENBLAS_NUM_THREADS");
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  pool_size = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void small_gemm_set_threads(int n) {
  pthread_once(&once, init_once);
  if (n >= 1) pool_size = n > MAX_THREADS ? MAX_THREADS : n;
}

/** 1 when done here, 0 when the caller should use BLAS (no kernel for this CPU, or busy). */
int small_gemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
  pthread_once(&once, init_once);
  if (!kernel || atomic_flag_test_and_set(&busy)) return 0;
  // Below ~64 blocks per thread the wake-up costs more than it saves.
  int threads = pool_size;
  while (threads > 1 && N / NR < 64 * threads) threads--;
  job = (Job){M, N, K, lda, ldb, ldc, alpha, beta, A, B, C, threads, K - K % kernel_lanes};
  if (threads > 1) {
    start_workers(threads);
    threads = job.nthreads = started_workers + 1 < threads ? started_workers + 1 : threads;
  }
  if (threads > 1) {
    atomic_store(&remaining, started_workers);
    pthread_mutex_lock(&mu);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    run_share(&job, 0);
    while (atomic_load_explicit(&remaining, memory_order_acquire) > 0) relax();
  } else {
    run_share(&job, 0);
  }
  atomic_flag_clear(&busy);
  return 1;
}
