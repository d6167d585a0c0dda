// Helpers shared by the shim's translation units; never seen by Swift.
#pragma once

#include "../include/ctorch.h"

#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

struct ct_tensor_s {
  at::Tensor tensor;
};

struct ct_generator_s {
  at::Generator generator;
  bool owned;
};

namespace ctorch {

/// Stores `message` as the calling thread's last error.
void set_error(std::string message);

/// The CUDA shim's function `name` (cuda_loader.cpp), or null with the reason (CUDA not loaded, the shim missing)
/// set as this thread's error.
void *cuda_shim_function(const char *name);

/// Time spent inside shim calls, per thread, for measuring what the Swift side adds around libtorch.
extern std::atomic<bool> call_timing_enabled;
extern thread_local int call_depth;
extern thread_local std::uint64_t call_nanoseconds;

/// Adds the duration of the outermost shim call on this thread to `call_nanoseconds` (when timing is on).
struct CallTimer {
  bool counting = false;
  bool outermost = false;
  std::chrono::steady_clock::time_point start;

  CallTimer() noexcept {
    if (!call_timing_enabled.load(std::memory_order_relaxed)) return;
    counting = true;
    outermost = call_depth++ == 0;
    if (outermost) start = std::chrono::steady_clock::now();
  }
  ~CallTimer() {
    if (!counting) return;
    --call_depth;
    if (outermost) {
      call_nanoseconds += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    }
  }
};

/// Runs `body`, turning any exception into a non-zero status and a thread-local message.
template <typename Body>
int guarded(Body &&body) noexcept {
  CallTimer timer;
  try {
    std::forward<Body>(body)();
    return 0;
  } catch (const c10::Error &error) {
    set_error(error.what_without_backtrace());
  } catch (const std::exception &error) {
    set_error(error.what());
  } catch (...) {
    set_error("unknown C++ exception in libtorch");
  }
  return 1;
}

inline const at::Tensor &unwrap(ct_tensor handle) {
  TORCH_CHECK(handle != nullptr, "a tensor handle is null");
  return handle->tensor;
}

/// A new handle owning `tensor`, or null for an undefined tensor.
inline ct_tensor wrap(at::Tensor tensor) {
  if (!tensor.defined()) return nullptr;
  return new ct_tensor_s{std::move(tensor)};
}

/// Takes ownership of a handle handed over by Swift and frees it; null gives an undefined tensor.
inline at::Tensor consume(ct_tensor handle) {
  if (handle == nullptr) return at::Tensor();
  at::Tensor tensor = std::move(handle->tensor);
  delete handle;
  return tensor;
}

/// Installs the caching, counting CPU allocator (cpu_allocator.cpp).
void install_counting_allocator();
/// Registers the shim's CPU `mm`/`addmm`/`bmm` kernels where they apply: bf16 through float32 on CPUs without bf16
/// arithmetic, float32/float64 through BLIS where it is used (cpu_matmul.cpp).
void install_cpu_matmul_kernels();

/// Whether float32/float64 CPU GEMMs go to BLIS rather than libtorch's BLAS (cpu_blas.cpp).
bool cpu_blas_active();
/// "BLIS <version> (<kernel set>)" when active, else "".
const char *cpu_blas_description();
/// Whether BLIS is active and takes the product a · b (2-D CPU float32/float64 matrices of one dtype, matching inner
/// sizes, strides a BLAS can read, outside a parallel region); cpu_blas_gemm then only needs a suitable `out`.
bool cpu_blas_takes(const at::Tensor &a, const at::Tensor &b);
/// out = alpha · a · b + beta · out for 2-D CPU float32/float64 tensors of one dtype, through BLIS; false (nothing
/// written) when BLIS is not active, when called inside a parallel region, or when a stride or size does not suit
/// a BLAS call (the caller then uses libtorch's kernel). `out` must not overlap `a` or `b`.
bool cpu_blas_gemm(const at::Tensor &a, const at::Tensor &b, at::Tensor &out, double alpha, double beta);

} // namespace ctorch
