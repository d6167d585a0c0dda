// A bias-free linear layer whose output rows are padded in memory when their natural stride is a multiple of 4 KB.
//
// The LM head writes a (tokens × vocabulary) matrix; with a vocabulary such as 8192 every row starts 32 KB after the
// previous one, so the rows of a GEMM tile map to the same cache sets and MKL's stores and loads conflict: on the
// 2-core EPYC VM the cpu-small head ran at 86 GFLOP/s (2048 × 8192 × 256) against 110–120 for other shapes.
// Sixteen floats of padding per row (an odd number of cache lines) remove that: the head's forward GEMM went from
// 95–103 ms to 80–82, its weight gradient from 84–85 to 80–81 (BENCHMARKS.md). The logits keep unit stride within a
// row, which is all the losses need; the fused cross entropy writes its gradient into the same padded memory, so
// the backward GEMMs read the padded layout too.
#include "internal.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdlib>
#include <cstring>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The row stride (in elements) for `columns` values of `element_size` bytes: unchanged unless the row's bytes are a
/// multiple of 4 KB, else padded to the next odd number of 64-byte cache lines.
/// MODALITIES_CPU_PADDED_ROWS=0 turns the padding off (for A/B measurements).
int64_t padded_row_stride(int64_t columns, int64_t element_size) {
  static const bool disabled = [] {
    const char *choice = std::getenv("MODALITIES_CPU_PADDED_ROWS");
    return choice != nullptr && std::strcmp(choice, "0") == 0;
  }();
  const int64_t bytes = columns * element_size;
  if (disabled || bytes == 0 || bytes % 4096 != 0) return columns;
  const int64_t lines = bytes / 64 + 1;  // even + 1: odd
  return lines * 64 / element_size;
}

struct PaddedLinear : public torch::autograd::Function<PaddedLinear> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, const at::Tensor &weight) {
    RECORD_FUNCTION("modalities::padded_linear", std::vector<c10::IValue>());
    const int64_t columns = weight.size(0);
    at::Tensor rows = input.reshape({-1, input.size(-1)});
    // A tensor of its own (not a view of a larger one: the loss may overwrite it in place) with padded row strides.
    std::vector<int64_t> sizes = input.sizes().vec(), strides(sizes.size());
    sizes.back() = columns;
    const size_t last = sizes.size() - 1;
    strides[last] = 1;
    int64_t next = padded_row_stride(columns, weight.element_size());
    for (size_t d = last; d-- > 0;) {
      strides[d] = next;
      next *= sizes[d];
    }
    at::Tensor out = at::empty_strided(sizes, strides, weight.options());
    at::Tensor out_rows = out.view({rows.size(0), columns});
    at::mm_out(out_rows, rows, weight.t());
    ctx->save_for_backward({input, weight});
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    RECORD_FUNCTION("modalities::padded_linear_backward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1];
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor()};
    at::Tensor grad = grads[0].reshape({-1, weight.size(0)});
    at::Tensor grad_input, grad_weight;
    if (ctx->needs_input_grad(0)) grad_input = at::mm(grad, weight).view(input.sizes());
    if (ctx->needs_input_grad(1)) grad_weight = at::mm(grad.t(), input.reshape({-1, input.size(-1)}));
    return {grad_input, grad_weight};
  }
};

}  // namespace

extern "C" {

// input (..., K) × weight (N, K)ᵀ with output rows padded in memory where N's stride would be a multiple of 4 KB (see
// above); any other case (another device or dtype, CPU autocast on, no padding needed) is at::linear.
int ct_linear_padding_rows(ct_tensor input_handle, ct_tensor weight_handle, ct_tensor *out) {
  return ctorch::guarded([&] {
    const at::Tensor &input = ctorch::unwrap(input_handle), &weight = ctorch::unwrap(weight_handle);
    const bool applies = input.device().is_cpu() && weight.device().is_cpu() && weight.dim() == 2 && input.dim() >= 1 &&
                         input.scalar_type() == weight.scalar_type() && at::isFloatingType(weight.scalar_type()) &&
                         input.size(-1) == weight.size(1) && !at::autocast::is_autocast_enabled(at::kCPU) &&
                         padded_row_stride(weight.size(0), weight.element_size()) != weight.size(0);
    *out = ctorch::wrap(applies ? PaddedLinear::apply(input, weight) : at::linear(input, weight));
  });
}

}  // extern "C"
