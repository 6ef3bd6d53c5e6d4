// Read bandwidth probe: T threads each sum a disjoint slice of one buffer with 4 independent
// AVX2 accumulators, REPS times; prints one GiB/s figure per line.
// Usage: read-bandwidth THREADS REPS MIB
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static float *buf;
typedef struct { size_t lo, hi; float sum; } slice_t;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx2"))) static void *read_slice(void *p) {
  slice_t *s = p;
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = s->lo; i < s->hi; i += 32) {
    a = _mm256_add_ps(a, _mm256_load_ps(buf + i));
    b = _mm256_add_ps(b, _mm256_load_ps(buf + i + 8));
    c = _mm256_add_ps(c, _mm256_load_ps(buf + i + 16));
    d = _mm256_add_ps(d, _mm256_load_ps(buf + i + 24));
  }
  float o[8];
  _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  s->sum = o[0];
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 5;
  size_t bytes = (size_t)(argc > 3 ? atoi(argv[3]) : 1024) << 20, n = bytes / sizeof(float);
  if (threads < 1 || threads > 64 || reps < 1 || n % (32 * (size_t)threads)) return 2;
  if (!__builtin_cpu_supports("avx2")) return 3;
  buf = aligned_alloc(64, bytes);
  if (!buf) return 4;
  for (size_t i = 0; i < n; i++) buf[i] = 1.0f;
  for (int r = 0; r < reps + 1; r++) {
    pthread_t th[64];
    slice_t sl[64];
    double t = now();
    for (int k = 0; k < threads; k++) {
      sl[k].lo = n / threads * k;
      sl[k].hi = n / threads * (k + 1);
      pthread_create(&th[k], NULL, read_slice, &sl[k]);
    }
    for (int k = 0; k < threads; k++) pthread_join(th[k], NULL);
    t = now() - t;
    if (r > 0) printf("%.3f\n", bytes / t / (1 << 30));  // the first pass warms TLB and caches
  }
  return 0;
}
