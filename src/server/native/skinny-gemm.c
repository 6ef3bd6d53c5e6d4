// The BLAS shim for MLX's CPU backend (built with small-gemm.c by scripts/setup.sh into
// build/native/skinny-gemm.node): a cblas_sgemm interposer and its one-row sgemv route.
// MLX calls cblas_sgemm for every matmul, also for
// one-row products (batch-1 decode), where OpenBLAS's packed sgemm path is 2-3x slower than its
// sgemv. Loaded with RTLD_GLOBAL before mlx.node, this cblas_sgemm wins symbol resolution and
// sends M==1 / N==1 products to cblas_sgemv of the same libblas.so.3; all others pass through.
// Products of 1 to 48 rows against a transposed weight matrix (decode, batched or not) go first
// to the small-M kernel (small_gemm, small-gemm.c), which streams the weights once instead of
// packing them; its own threads then serve every decode matmul, so OpenBLAS's idle-spinning
// threads do not compete.
// It is also an N-API addon (prototypes declared here, so no node headers are needed):
//   setEnabled(on: boolean): void, setBlasThreads(n: number): void,
//   counts(): [routed to sgemv, passed to sgemm, done by small_gemm],
//   mallocBytes(): bytes malloc has handed out and not taken back (glibc's mallinfo2), -1 elsewhere;
//   MLX's CPU buffers are malloc'd, so this counts them (mx.metal's counters are 0 on the CPU);
//   trimMalloc(): hands the free memory malloc keeps back to the kernel (glibc's malloc_trim), for
//   an idle engine (src/shared/malloc-tunables.ts has malloc keep freed buffers while it works);
//   blasCore(): the CPU family OpenBLAS chose its kernels for (openblas_get_corename, which
//   OPENBLAS_CORETYPE can force), null for another BLAS.
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*threads_fn)(int);
typedef char *(*corename_fn)(void);

static sgemm_fn real_sgemm;
static sgemv_fn real_sgemv;
static threads_fn set_threads;
static corename_fn core_name;
static volatile int enabled = 1;
static volatile long routed, passed, small;

// Most rows sent to small_gemm; MLX_BATCH_SMALL_GEMM_ROWS overrides it (0 turns the kernel off).
static int small_m_max = 48;
int small_gemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);
void small_gemm_set_threads(int n);

static void resolve(void) {
  if (real_sgemm) return;
  void *h = dlopen("libblas.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "mlx-batch BLAS shim: %s\n", dlerror()); abort(); }
  real_sgemv = (sgemv_fn)dlsym(h, "cblas_sgemv");
  set_threads = (threads_fn)dlsym(h, "openblas_set_num_threads");
  core_name = (corename_fn)dlsym(h, "openblas_get_corename");
  const char *rows = getenv("MLX_BATCH_SMALL_GEMM_ROWS");
  if (rows && *rows) small_m_max = atoi(rows);
  real_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
  if (!real_sgemm || !real_sgemv) { fprintf(stderr, "mlx-batch BLAS shim: no cblas in libblas.so.3\n"); abort(); }
}

void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  resolve();
  if (enabled && order == RowMajor && ta == NoTrans && tb == Trans && M <= small_m_max && N >= 16 &&
      K >= 16 && small_gemm(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) {
    small++;
    return;
  }
  if (enabled && order == RowMajor && M == 1 && N > 1 && K > 1) {
    // C[1,N] = a op(B): a is row 0 of A (stride 1) or column 0 of A^T (stride lda).
    int inca = ta == NoTrans ? 1 : lda;
    if (tb == NoTrans) real_sgemv(RowMajor, Trans, K, N, alpha, B, ldb, A, inca, beta, C, 1);
    else real_sgemv(RowMajor, NoTrans, N, K, alpha, B, ldb, A, inca, beta, C, 1);
    routed++;
    return;
  }
  if (enabled && order == RowMajor && N == 1 && M > 1 && K > 1) {
    // C[M,1] (stride ldc) = op(A) b: b is column 0 of B (stride ldb) or row 0 of B^T (stride 1).
    int incb = tb == NoTrans ? ldb : 1;
    if (ta == NoTrans) real_sgemv(RowMajor, NoTrans, M, K, alpha, A, lda, B, incb, beta, C, ldc);
    else real_sgemv(RowMajor, Trans, K, M, alpha, A, lda, B, incb, beta, C, ldc);
    routed++;
    return;
  }
  passed++;
  real_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
extern int napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
extern int napi_set_named_property(napi_env, napi_value, const char *, napi_value);
extern int napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
extern int napi_get_value_bool(napi_env, napi_value, bool *);
extern int napi_get_value_int32(napi_env, napi_value, int *);
extern int napi_create_double(napi_env, double, napi_value *);
extern int napi_create_array_with_length(napi_env, size_t, napi_value *);
extern int napi_set_element(napi_env, napi_value, unsigned, napi_value);
extern int napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
extern int napi_get_null(napi_env, napi_value *);

static napi_value first_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= 1 ? argv[0] : NULL;
}

static napi_value js_set_enabled(napi_env env, napi_callback_info info) {
  bool on = true;
  napi_value v = first_arg(env, info);
  if (v && napi_get_value_bool(env, v, &on) == 0) enabled = on;
  return NULL;
}

static napi_value js_set_blas_threads(napi_env env, napi_callback_info info) {
  int n = 0;
  napi_value v = first_arg(env, info);
  resolve();
  if (v && napi_get_value_int32(env, v, &n) == 0 && n > 0) {
    if (set_threads) set_threads(n);
    small_gemm_set_threads(n);
  }
  return NULL;
}

static napi_value js_counts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, v;
  double values[3] = {(double)routed, (double)passed, (double)small};
  napi_create_array_with_length(env, 3, &arr);
  for (unsigned i = 0; i < 3; i++) {
    napi_create_double(env, values[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

static napi_value js_malloc_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 m = mallinfo2();
  napi_create_double(env, (double)(m.uordblks + m.hblkhd), &v);
#else
  napi_create_double(env, -1, &v);
#endif
  return v;
}

static napi_value js_trim_malloc(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return NULL;
}

static napi_value js_blas_core(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  resolve();
  const char *name = core_name ? core_name() : NULL;
  if (name && *name) napi_create_string_utf8(env, name, (size_t)-1, &v);
  else napi_get_null(env, &v);
  return v;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  struct { const char *name; napi_callback cb; } fns[] = {
      {"setEnabled", js_set_enabled}, {"setBlasThreads", js_set_blas_threads}, {"counts", js_counts},
      {"mallocBytes", js_malloc_bytes}, {"trimMalloc", js_trim_malloc},
      {"blasCore", js_blas_core}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, (size_t)-1, fns[i].cb, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
