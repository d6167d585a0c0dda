// bf16 matrix products on x86 CPUs without bf16 arithmetic (neither AVX512-BF16 nor AMX).
//
// There libtorch's bf16 `mm` falls back to a generic loop: on the 2-core AVX2 machine a `cpu-small` step under bf16
// autocast took 23.6 s, 93% of it in `aten::mm` (PyTorch 2.15 the same), against 0.8 s in float32. A bf16 GEMM
// multiplies bf16 values and accumulates in float32; the products of bf16 values are exact in float32, so widening
// both operands to float32, running the float32 GEMM and rounding the result to bf16 computes the same thing (up
// to the order of the sums, which no GEMM fixes), at float32 GEMM speed plus the conversions. The shim therefore
// registers its own CPU kernels for `mm`, `addmm`, `bmm` and the flash attention backward that do this for bf16
// operands and call libtorch's own CPU kernels for everything else. Autograd, autocast and every caller see the same operators. On CPUs with bf16
// arithmetic, and with `MODALITIES_CPU_BF16_MATMUL=libtorch`, libtorch's kernels stay.
#include "internal.h"

#include <ATen/ops/_scaled_dot_product_flash_attention_for_cpu_backward_cpu_dispatch.h>
#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/bmm_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <cstring>
#include <mutex>

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

at::Tensor mm(const at::Tensor &self, const at::Tensor &other) {
  if (!is_bf16(self) || !is_bf16(other)) return at::cpu::mm(self, other);
  return at::cpu::mm(widened(self), widened(other)).to(at::kBFloat16);
}

at::Tensor bmm(const at::Tensor &self, const at::Tensor &other) {
  if (!is_bf16(self) || !is_bf16(other)) return at::cpu::bmm(self, other);
  return at::cpu::bmm(widened(self), widened(other)).to(at::kBFloat16);
}

at::Tensor addmm(const at::Tensor &bias, const at::Tensor &left, const at::Tensor &right, const at::Scalar &beta,
                 const at::Scalar &alpha) {
  if (!is_bf16(bias) || !is_bf16(left) || !is_bf16(right)) return at::cpu::addmm(bias, left, right, beta, alpha);
  return at::cpu::addmm(widened(bias), widened(left), widened(right), beta, alpha).to(at::kBFloat16);
}

/// The flash attention backward has the same problem (579 of a 1,430 ms bf16 step once the GEMMs were fixed, about
/// ten times its float32 time): the same widening, with float32 gradients rounded to bf16.
std::tuple<at::Tensor, at::Tensor, at::Tensor> flash_attention_backward(
    const at::Tensor &grad_out, const at::Tensor &query, const at::Tensor &key, const at::Tensor &value,
    const at::Tensor &out, const at::Tensor &logsumexp, double dropout_p, bool is_causal,
    const std::optional<at::Tensor> &attn_mask, std::optional<double> scale) {
  if (!is_bf16(grad_out) || !is_bf16(query) || !is_bf16(key) || !is_bf16(value) || !is_bf16(out)) {
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

std::atomic<bool> installed{false};

}  // namespace

void ctorch::install_bf16_matmul_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
#if !defined(__x86_64__)
    return;  // Elsewhere libtorch's kernels are kept.
#endif
    const char *choice = std::getenv("MODALITIES_CPU_BF16_MATMUL");
    if ((choice && std::strcmp(choice, "libtorch") == 0) || has_bf16_arithmetic()) return;
    static SilentWarnings silent;
    c10::WarningUtils::WarningHandlerGuard guard(&silent);
    static auto *library = new torch::Library(torch::Library::IMPL, "aten", c10::DispatchKey::CPU, __FILE__, __LINE__);
    library->impl("mm", TORCH_FN(mm));
    library->impl("bmm", TORCH_FN(bmm));
    library->impl("addmm", TORCH_FN(addmm));
    library->impl("_scaled_dot_product_flash_attention_for_cpu_backward", TORCH_FN(flash_attention_backward));
    installed.store(true);
  });
}

extern "C" int ct_cpu_bf16_matmul_through_float32(void) { return installed.load() ? 1 : 0; }

extern "C" int ct_cpu_has_bf16_arithmetic(void) { return has_bf16_arithmetic() ? 1 : 0; }
