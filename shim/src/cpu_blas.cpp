// A faster CPU BLAS than libtorch's own for float32/float64 matrix products, where one is installed.
//
// libtorch's x86-64 builds do their GEMMs with MKL, which is tuned for Intel's CPUs. On the 2-core AMD EPYC (Zen 3)
// VM, a harness timing the `cpu-small` step's GEMM shapes through each library's `sgemm_` measured MKL at 73–126
// GFLOP/s and BLIS (Debian's libblis4-openmp, which picks its Zen kernels at load time) at 121–153, the LM head's
// forward 73 vs 130 (BENCHMARKS.md). So on AMD CPUs, when BLIS is installed, the shim's `mm`/`addmm` CPU kernels
// (cpu_matmul.cpp) hand float32 and float64 products to BLIS; everything else stays with libtorch. Only BLIS's
// OpenMP build is taken: its dependency on libgomp.so.1 is met by the libgomp libtorch has already loaded, so BLIS's
// threads are libtorch's thread pool and the two never compete for cores (the pthreads build would). The thread
// count follows `at::get_num_threads()`; inside a parallel region libtorch's kernels are used instead.
//
// MODALITIES_CPU_BLAS chooses: unset or `auto` (BLIS on AMD CPUs when found), `blis` (BLIS on any x86-64 CPU when
// found), `libtorch` (never), or the path of a BLIS library (an OpenMP build).
#include "internal.h"

#include <ATen/Parallel.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <dlfcn.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

using sgemm_fn = void (*)(const char *, const char *, const int *, const int *, const int *, const float *,
                          const float *, const int *, const float *, const int *, const float *, float *, const int *);
using dgemm_fn = void (*)(const char *, const char *, const int *, const int *, const int *, const double *,
                          const double *, const int *, const double *, const int *, const double *, double *, const int *);

/// A loaded BLIS: its BLAS entry points and its thread-count setter.
struct Blis {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  void (*set_num_threads)(int64_t) = nullptr;
  std::string description;
};

bool is_amd_cpu() {
#if defined(__x86_64__)
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0;
#else
  return false;
#endif
}

template <typename Function>
Function symbol(void *handle, const char *name) {
  return reinterpret_cast<Function>(dlsym(handle, name));
}

/// Opens `path` and keeps it when it is a BLIS OpenMP build with 32-bit BLAS integers; else nullopt, with the reason
/// in `why`.
std::optional<Blis> open_blis(const char *path, std::string &why) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char *error = dlerror();
    why = error ? error : "dlopen failed";
    return std::nullopt;
  }
  auto openmp = symbol<int64_t (*)()>(handle, "bli_info_get_enable_openmp");
  auto int_size = symbol<int64_t (*)()>(handle, "bli_info_get_blas_int_type_size");
  auto version = symbol<const char *(*)()>(handle, "bli_info_get_version_str");
  auto arch_id = symbol<int (*)()>(handle, "bli_arch_query_id");
  auto arch_name = symbol<const char *(*)(int)>(handle, "bli_arch_string");
  Blis blis;
  blis.sgemm = symbol<sgemm_fn>(handle, "sgemm_");
  blis.dgemm = symbol<dgemm_fn>(handle, "dgemm_");
  blis.set_num_threads = symbol<void (*)(int64_t)>(handle, "bli_thread_set_num_threads");
  if (!openmp || !int_size || !version || !blis.sgemm || !blis.dgemm || !blis.set_num_threads) {
    why = std::string(path) + " is not a BLIS library (no bli_info_get_enable_openmp, sgemm_ or bli_thread_set_num_threads)";
  } else if (openmp() == 0) {
    why = std::string(path) + " is BLIS without OpenMP; its threads would compete with libtorch's (install libblis4-openmp)";
  } else if (int_size() != 32) {
    why = std::string(path) + " uses " + std::to_string(int_size()) + "-bit BLAS integers; 32-bit ones are expected";
  } else {
    blis.description = std::string("BLIS ") + version() + (arch_id && arch_name ? std::string(" (") + arch_name(arch_id()) + ")" : "");
    return blis;
  }
  dlclose(handle);
  return std::nullopt;
}

std::optional<Blis> load_blis() {
  const char *choice = std::getenv("MODALITIES_CPU_BLAS");
  const std::string setting = choice ? choice : "auto";
  if (setting == "libtorch") return std::nullopt;
  const bool explicit_path = setting.find('/') != std::string::npos;
  if (setting != "auto" && setting != "blis" && !explicit_path) {
    std::fprintf(stderr, "modalities: MODALITIES_CPU_BLAS=%s is not one of auto, blis, libtorch or a library path; "
                         "using libtorch's GEMMs\n", setting.c_str());
    return std::nullopt;
  }
#if !defined(__x86_64__)
  if (!explicit_path) return std::nullopt;  // Measured on x86-64 only.
#endif
  if (setting == "auto" && !is_amd_cpu()) return std::nullopt;
  std::string why;
  if (explicit_path) {
    if (auto blis = open_blis(setting.c_str(), why)) return blis;
  } else {
    for (const char *path : {"/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4", "libblis.so.4"}) {
      if (auto blis = open_blis(path, why)) return blis;
    }
  }
  // Asked for by name: say why it is not used. Under `auto` a missing BLIS is the normal case on other machines.
  if (setting != "auto") std::fprintf(stderr, "modalities: MODALITIES_CPU_BLAS=%s: %s; using libtorch's GEMMs\n",
                                      setting.c_str(), why.c_str());
  return std::nullopt;
}

const std::optional<Blis> &blis() {
  static const std::optional<Blis> loaded = load_blis();
  return loaded;
}

/// How a row-major GEMM sees a 2-D operand: its memory row-major (`transposed` false) or column-major, with the
/// leading dimension the BLAS needs; nullopt for other strides.
struct Operand {
  bool transposed;
  int64_t leading;
};

std::optional<Operand> operand(const at::Tensor &matrix) {
  const int64_t rows = matrix.size(0), columns = matrix.size(1);
  const int64_t row_stride = matrix.stride(0), column_stride = matrix.stride(1);
  if ((column_stride == 1 || columns == 1) && (rows == 1 || row_stride >= columns)) {
    return Operand{false, rows == 1 ? columns : row_stride};
  }
  if ((row_stride == 1 || rows == 1) && (columns == 1 || column_stride >= rows)) {
    return Operand{true, columns == 1 ? rows : column_stride};
  }
  return std::nullopt;
}

bool fits_int(int64_t value) { return value > 0 && value <= INT_MAX; }

/// A 2-D CPU matrix of `dtype` that a BLAS call can read.
bool blas_matrix(const at::Tensor &t, at::ScalarType dtype) {
  return t.device().is_cpu() && t.layout() == at::kStrided && t.dim() == 2 && t.scalar_type() == dtype && !t.is_neg();
}

/// `operand` when it fits a BLAS call's 32-bit sizes.
std::optional<Operand> blas_operand(const at::Tensor &matrix) {
  auto seen = operand(matrix);
  if (!seen || !fits_int(seen->leading) || !fits_int(matrix.size(0)) || !fits_int(matrix.size(1))) return std::nullopt;
  return seen;
}

}  // namespace

bool ctorch::cpu_blas_active() { return blis().has_value(); }

const char *ctorch::cpu_blas_description() { return blis() ? blis()->description.c_str() : ""; }

bool ctorch::cpu_blas_takes(const at::Tensor &a, const at::Tensor &b) {
  if (!blis() || at::in_parallel_region()) return false;
  const auto dtype = a.scalar_type();
  if ((dtype != at::kFloat && dtype != at::kDouble) || !blas_matrix(a, dtype) || !blas_matrix(b, dtype)) return false;
  return b.size(0) == a.size(1) && blas_operand(a) && blas_operand(b);
}

bool ctorch::cpu_blas_gemm(const at::Tensor &a, const at::Tensor &b, at::Tensor &out, double alpha, double beta) {
  if (!cpu_blas_takes(a, b) || !blas_matrix(out, a.scalar_type())) return false;
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (out.size(0) != m || out.size(1) != n) return false;
  const auto left = blas_operand(a), right = blas_operand(b), result = blas_operand(out);
  if (!result || result->transposed) return false;
  const auto &library = blis();
  const auto dtype = a.scalar_type();

  static std::atomic<int> configured_threads{0};
  const int threads = at::get_num_threads();
  if (configured_threads.exchange(threads) != threads) library->set_num_threads(threads);

  // Column-major BLAS on row-major data computes Cᵀ = Bᵀ·Aᵀ: the operands swap, each keeps its own transposition.
  const char transpose_b = right->transposed ? 'T' : 'N', transpose_a = left->transposed ? 'T' : 'N';
  const int rows = static_cast<int>(n), columns = static_cast<int>(m), depth = static_cast<int>(k);
  const int ldb = static_cast<int>(right->leading), lda = static_cast<int>(left->leading);
  const int ldc = static_cast<int>(result->leading);
  if (dtype == at::kFloat) {
    const float scale = static_cast<float>(alpha), keep = static_cast<float>(beta);
    library->sgemm(&transpose_b, &transpose_a, &rows, &columns, &depth, &scale, b.const_data_ptr<float>(), &ldb,
                   a.const_data_ptr<float>(), &lda, &keep, out.mutable_data_ptr<float>(), &ldc);
  } else {
    library->dgemm(&transpose_b, &transpose_a, &rows, &columns, &depth, &alpha, b.const_data_ptr<double>(), &ldb,
                   a.const_data_ptr<double>(), &lda, &beta, out.mutable_data_ptr<double>(), &ldc);
  }
  return true;
}
