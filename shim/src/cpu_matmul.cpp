// The shim's CPU kernels for `mm`, `addmm` and `bmm`: libtorch's, except in two cases measured to be much slower.
//
// bf16 on x86 CPUs without bf16 arithmetic (neither AVX512-BF16 nor AMX). There libtorch's bf16 `mm` falls back to
// a generic loop: on the 2-core AVX2 machine a `cpu-small` step under bf16 autocast took 23.6 s, 93% of it in
// `aten::mm` (PyTorch 2.15 the same), against 0.8 s in float32. A bf16 GEMM multiplies bf16 values and accumulates
// in float32; the products of bf16 values are exact in float32, so widening both operands to float32, running the
// float32 GEMM and rounding the result to bf16 computes the same thing (up to the order of the sums, which no GEMM
// fixes), at float32 GEMM speed plus the conversions. The flash attention backward gets the same treatment. On CPUs
// with bf16 arithmetic, and with `MODALITIES_CPU_BF16_MATMUL=libtorch`, libtorch's kernels stay.
//
// float32 and float64 products on AMD CPUs, where BLIS beats libtorch's MKL (cpu_blas.cpp): `mm`, `mm.out` and
// `addmm` go to BLIS when it is installed and the operands' strides suit a BLAS; other cases go to libtorch.
//
// Autograd, autocast and every caller see the same operators; the profiler still names them `aten::mm` and so on.
#include "internal.h"

#include <ATen/ExpandUtils.h>
#include <ATen/ops/_scaled_dot_product_flash_attention_for_cpu_backward_cpu_dispatch.h>
#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/bmm_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <vector>

namespace {

/// AVX512-BF16 or AMX-BF16 (CPUID leaf 7); false on other architectures, where it is not looked for.
bool has_bf16_arithmetic() {
#if defined(__x86_64__)
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool amx_bf16 = edx & (1u << 22);
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  const bool avx512_bf16 = eax & (1u << 5);
  return amx_bf16 || avx512_bf16;
#else
  return false;
#endif
}

bool is_bf16(const at::Tensor &tensor) { return tensor.scalar_type() == at::kBFloat16; }

at::Tensor widened(const at::Tensor &tensor) { return tensor.to(at::kFloat); }

/// Whether bf16 products are computed in float32 here (decided once, in install_cpu_matmul_kernels).
std::atomic<bool> widening_bf16{false};

bool widens(std::initializer_list<const at::Tensor *> tensors) {
  if (!widening_bf16.load(std::memory_order_relaxed)) return false;
  for (const at::Tensor *tensor : tensors) {
    if (!is_bf16(*tensor)) return false;
  }
  return true;
}

/// A float32/float64 `mm` through BLIS when it takes the operands, else libtorch's.
at::Tensor float_mm(const at::Tensor &self, const at::Tensor &other) {
  if (ctorch::cpu_blas_takes(self, other)) {
    at::Tensor out = at::empty({self.size(0), other.size(1)}, self.options());
    if (ctorch::cpu_blas_gemm(self, other, out, 1.0, 0.0)) return out;
  }
  return at::cpu::mm(self, other);
}

at::Tensor float_addmm(const at::Tensor &bias, const at::Tensor &left, const at::Tensor &right, const at::Scalar &beta,
                       const at::Scalar &alpha) {
  if (ctorch::cpu_blas_takes(left, right) && bias.scalar_type() == left.scalar_type() && bias.device().is_cpu() &&
      !beta.isComplex() && !alpha.isComplex()) {
    const std::vector<int64_t> shape{left.size(0), right.size(1)};
    if (at::is_expandable_to(bias.sizes(), shape)) {
      at::Tensor out = at::empty(shape, left.options());
      const double keep = beta.toDouble();
      // As in libtorch, beta = 0 ignores the bias (NaN and infinity included).
      if (keep != 0) out.copy_(bias.expand(shape));
      if (ctorch::cpu_blas_gemm(left, right, out, alpha.toDouble(), keep)) return out;
    }
  }
  return at::cpu::addmm(bias, left, right, beta, alpha);
}

at::Tensor mm_kernel(const at::Tensor &self, const at::Tensor &other) {
  if (widens({&self, &other})) return float_mm(widened(self), widened(other)).to(at::kBFloat16);
  return float_mm(self, other);
}

at::Tensor &mm_out_kernel(const at::Tensor &self, const at::Tensor &other, at::Tensor &out) {
  const bool into_out = ctorch::cpu_blas_takes(self, other) && out.dim() == 2 &&
                        out.size(0) == self.size(0) && out.size(1) == other.size(1) &&
                        !out.is_alias_of(self) && !out.is_alias_of(other);
  if (into_out && ctorch::cpu_blas_gemm(self, other, out, 1.0, 0.0)) return out;
  if (widens({&self, &other, &out})) {
    at::Tensor product = mm_kernel(self, other);
    if (out.sizes() != product.sizes()) out.resize_(product.sizes());
    return out.copy_(product);
  }
  return at::cpu::mm_out(out, self, other);
}

at::Tensor bmm_kernel(const at::Tensor &self, const at::Tensor &other) {
  if (!widens({&self, &other})) return at::cpu::bmm(self, other);
  return at::cpu::bmm(widened(self), widened(other)).to(at::kBFloat16);
}

at::Tensor addmm_kernel(const at::Tensor &bias, const at::Tensor &left, const at::Tensor &right,
                        const at::Scalar &beta, const at::Scalar &alpha) {
  if (widens({&bias, &left, &right})) {
    return float_addmm(widened(bias), widened(left), widened(right), beta, alpha).to(at::kBFloat16);
  }
  return float_addmm(bias, left, right, beta, alpha);
}

/// The flash attention backward has the same problem (579 of a 1,430 ms bf16 step once the GEMMs were fixed, about
/// ten times its float32 time): the same widening, with float32 gradients rounded to bf16.
std::tuple<at::Tensor, at::Tensor, at::Tensor> flash_attention_backward(
    const at::Tensor &grad_out, const at::Tensor &query, const at::Tensor &key, const at::Tensor &value,
    const at::Tensor &out, const at::Tensor &logsumexp, double dropout_p, bool is_causal,
    const std::optional<at::Tensor> &attn_mask, std::optional<double> scale) {
  if (!widens({&grad_out, &query, &key, &value, &out})) {
    return at::cpu::_scaled_dot_product_flash_attention_for_cpu_backward(grad_out, query, key, value, out, logsumexp,
                                                                         dropout_p, is_causal, attn_mask, scale);
  }
  std::optional<at::Tensor> mask = attn_mask;
  if (mask && is_bf16(*mask)) mask = widened(*mask);
  auto [grad_query, grad_key, grad_value] = at::cpu::_scaled_dot_product_flash_attention_for_cpu_backward(
      widened(grad_out), widened(query), widened(key), widened(value), widened(out), logsumexp, dropout_p, is_causal,
      mask, scale);
  return {grad_query.to(at::kBFloat16), grad_key.to(at::kBFloat16), grad_value.to(at::kBFloat16)};
}

/// Drops the dispatcher's "overriding a previously registered kernel" warning, which is the point here.
struct SilentWarnings final : c10::WarningHandler {
  void process(const c10::Warning &) override {}
};

}  // namespace

void ctorch::install_cpu_matmul_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__x86_64__)
    const char *choice = std::getenv("MODALITIES_CPU_BF16_MATMUL");
    widening_bf16.store(!(choice && std::strcmp(choice, "libtorch") == 0) && !has_bf16_arithmetic());
#endif
    if (!widening_bf16.load() && !cpu_blas_active()) return;  // libtorch's kernels as they are.
    static SilentWarnings silent;
    c10::WarningUtils::WarningHandlerGuard guard(&silent);
    static auto *library = new torch::Library(torch::Library::IMPL, "aten", c10::DispatchKey::CPU, __FILE__, __LINE__);
    library->impl("mm", TORCH_FN(mm_kernel));
    library->impl("mm.out", TORCH_FN(mm_out_kernel));
    library->impl("bmm", TORCH_FN(bmm_kernel));
    library->impl("addmm", TORCH_FN(addmm_kernel));
    library->impl("_scaled_dot_product_flash_attention_for_cpu_backward", TORCH_FN(flash_attention_backward));
  });
}

extern "C" int ct_cpu_bf16_matmul_through_float32(void) { return widening_bf16.load() ? 1 : 0; }

extern "C" int ct_cpu_has_bf16_arithmetic(void) { return has_bf16_arithmetic() ? 1 : 0; }

extern "C" const char *ct_cpu_blas(void) { return ctorch::cpu_blas_description(); }
