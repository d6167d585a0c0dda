// Modalities' RMSLayerNorm (y = x / sqrt(mean(x²) + eps) · weight [+ bias], computed in float32) on the CPU as one
// pass per row forward and one per row backward.
//
// Composed of ATen operators it is `to`, `pow`, `mean`, `add`, `rsqrt`, `mul`, `mul` [, `add`] forward and about twice
// as many backward, each a pass over the activations: in the demo's Llama-form step (RMSNorm, RoPE, SwiGLU) `aten::mul`
// alone was 7% of the step. Here a row's sum of squares, its scale and its output are computed while the row is in
// cache, only one reciprocal root per row is kept for backward, and backward computes the input's gradient per row
// and the weight's (and bias's) as per-thread column sums. Float32 and float64 CPU tensors take this path (float64 in
// float64); other dtypes and devices take the composite, which is the same computation.
#include "internal.h"
#include "row_math.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The ATen composite, as the model computed it before this kernel: also the path for every case the kernel skips.
/// `torch_form`: libtorch's own `rms_norm` (torch.nn.RMSNorm; no bias), which rounds a little differently in bf16.
at::Tensor composite(const at::Tensor &input, const at::Tensor &weight, const at::Tensor &bias, double eps,
                     bool torch_form) {
  if (torch_form) return at::rms_norm(input, {weight.size(0)}, weight, eps);
  const at::Tensor x = input.to(at::kFloat);
  const at::Tensor normalized = (x * (x.pow(2).mean(-1, true) + eps).rsqrt()).to(input.scalar_type());
  const at::Tensor scaled = normalized * weight;
  return bias.defined() ? scaled + bias : scaled;
}

/// Σ a[j]·b[j] (and Σ a[j]·b[j]·c[j] when c is given): the rows' two reductions. float: eight lanes at a time (the
/// order of the sums differs from a plain loop by float32 rounding); double: a plain loop.
__attribute__((target_clones("avx2", "default"))) float product_sum(const float *a, const float *b, const float *c,
                                                                     int64_t count) {
  float8 sums = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const float8 product = load8(a + j) * load8(b + j);
    sums += c != nullptr ? product * load8(c + j) : product;
  }
  float total = 0;
  for (int lane = 0; lane < 8; ++lane) total += sums[lane];
  for (; j < count; ++j) total += a[j] * b[j] * (c != nullptr ? c[j] : 1.0f);
  return total;
}

double product_sum(const double *a, const double *b, const double *c, int64_t count) {
  double total = 0;
  for (int64_t j = 0; j < count; ++j) total += a[j] * b[j] * (c != nullptr ? c[j] : 1.0);
  return total;
}

/// Rows per task: enough work per task to amortise the split, small enough to spread over the threads.
int64_t grain(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(width, 1)); }

template <typename T>
void forward_rows(const T *x, const T *weight, const T *bias, T *y, T *inverse_rms, int64_t rows, int64_t width,
                  double eps) {
  at::parallel_for(0, rows, grain(width), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const T *in = x + row * width;
      T *out = y + row * width;
      const T squares = product_sum(in, in, static_cast<const T *>(nullptr), width);
      const T inverse = T(1) / std::sqrt(squares / T(width) + T(eps));
      inverse_rms[row] = inverse;
      if (bias != nullptr) {
        for (int64_t j = 0; j < width; ++j) out[j] = in[j] * inverse * weight[j] + bias[j];
      } else {
        for (int64_t j = 0; j < width; ++j) out[j] = in[j] * inverse * weight[j];
      }
    }
  });
}

/// grad_x per row; grad_weight (and grad_bias) as column sums, accumulated per thread and added up at the end.
template <typename T>
void backward_rows(const T *grad_y, const T *x, const T *weight, const T *inverse_rms, T *grad_x, T *grad_weight,
                   T *grad_bias, int64_t rows, int64_t width) {
  const int threads = at::get_num_threads();
  std::vector<T> weight_sums(static_cast<size_t>(threads) * width, T(0));
  std::vector<T> bias_sums(grad_bias != nullptr ? static_cast<size_t>(threads) * width : 0, T(0));
  at::parallel_for(0, rows, grain(width), [&](int64_t begin, int64_t end) {
    T *weight_sum = weight_sums.data() + static_cast<size_t>(at::get_thread_num()) * width;
    T *bias_sum = grad_bias != nullptr ? bias_sums.data() + static_cast<size_t>(at::get_thread_num()) * width : nullptr;
    for (int64_t row = begin; row < end; ++row) {
      const T *dy = grad_y + row * width, *in = x + row * width;
      const T inverse = inverse_rms[row];
      const T dot = product_sum(dy, weight, in, width);  // Σ dy·w·x
      const T correction = inverse * inverse * inverse * dot / T(width);
      if (grad_x != nullptr) {
        T *dx = grad_x + row * width;
        for (int64_t j = 0; j < width; ++j) dx[j] = inverse * dy[j] * weight[j] - in[j] * correction;
      }
      for (int64_t j = 0; j < width; ++j) weight_sum[j] += dy[j] * in[j] * inverse;
      if (bias_sum != nullptr) {
        for (int64_t j = 0; j < width; ++j) bias_sum[j] += dy[j];
      }
    }
  });
  for (int64_t j = 0; j < width; ++j) {
    T weight_total = 0, bias_total = 0;
    for (int thread = 0; thread < threads; ++thread) {
      weight_total += weight_sums[static_cast<size_t>(thread) * width + j];
      if (grad_bias != nullptr) bias_total += bias_sums[static_cast<size_t>(thread) * width + j];
    }
    grad_weight[j] = weight_total;
    if (grad_bias != nullptr) grad_bias[j] = bias_total;
  }
}

struct RMSLayerNorm : public torch::autograd::Function<RMSLayerNorm> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, const at::Tensor &weight,
                            const std::optional<at::Tensor> &optional_bias, double eps) {
    const at::Tensor bias = optional_bias.value_or(at::Tensor());
    RECORD_FUNCTION("modalities::rms_layer_norm", std::vector<c10::IValue>());
    const at::Tensor x = input.contiguous();
    const int64_t width = weight.size(0), rows = width == 0 ? 0 : x.numel() / width;
    at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
    at::Tensor inverse_rms = at::empty({rows}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rms_layer_norm", [&] {
      forward_rows<scalar_t>(x.const_data_ptr<scalar_t>(), weight.const_data_ptr<scalar_t>(),
                             bias.defined() ? bias.const_data_ptr<scalar_t>() : nullptr, out.mutable_data_ptr<scalar_t>(),
                             inverse_rms.mutable_data_ptr<scalar_t>(), rows, width, eps);
    });
    ctx->save_for_backward({x, weight, inverse_rms});
    ctx->saved_data["has_bias"] = bias.defined();
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    RECORD_FUNCTION("modalities::rms_layer_norm_backward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &inverse_rms = saved[2];
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const at::Tensor grad_y = grads[0].contiguous();
    const int64_t width = weight.size(0), rows = inverse_rms.size(0);
    at::Tensor grad_x = ctx->needs_input_grad(0) ? at::empty_like(x) : at::Tensor();
    at::Tensor grad_weight = at::empty_like(weight);
    at::Tensor grad_bias = has_bias ? at::empty_like(weight) : at::Tensor();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rms_layer_norm_backward", [&] {
      backward_rows<scalar_t>(grad_y.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
                              weight.const_data_ptr<scalar_t>(), inverse_rms.const_data_ptr<scalar_t>(),
                              grad_x.defined() ? grad_x.mutable_data_ptr<scalar_t>() : nullptr,
                              grad_weight.mutable_data_ptr<scalar_t>(),
                              has_bias ? grad_bias.mutable_data_ptr<scalar_t>() : nullptr, rows, width);
    });
    return {grad_x, ctx->needs_input_grad(1) ? grad_weight : at::Tensor(),
            has_bias && ctx->needs_input_grad(2) ? grad_bias : at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

// Modalities' RMSLayerNorm over the last dimension (see above); `bias_handle` may be null. The kernel takes float32
// and float64 CPU tensors whose last dimension is the weight's (weight and bias of the input's dtype); anything else
// gets the ATen composite, or with `torch_form` libtorch's rms_norm (torch.nn.RMSNorm, the same formula).
int ct_rms_layer_norm(ct_tensor input_handle, ct_tensor weight_handle, ct_tensor bias_handle, double eps,
                      int torch_form, ct_tensor *out) {
  return ctorch::guarded([&] {
    const at::Tensor &input = ctorch::unwrap(input_handle), &weight = ctorch::unwrap(weight_handle);
    const at::Tensor bias = bias_handle != nullptr ? ctorch::unwrap(bias_handle) : at::Tensor();
    const auto dtype = input.scalar_type();
    const auto matches = [&](const at::Tensor &t) {
      return !t.defined() || (t.device().is_cpu() && t.scalar_type() == dtype && t.dim() == 1 &&
                              t.size(0) == weight.size(0));
    };
    const bool applies = input.device().is_cpu() && (dtype == at::kFloat || dtype == at::kDouble) && input.dim() >= 1 &&
                         weight.dim() == 1 && input.size(-1) == weight.size(0) && matches(weight) && matches(bias) &&
                         !at::autocast::is_autocast_enabled(at::kCPU);
    std::optional<at::Tensor> optional_bias;
    if (bias.defined()) optional_bias = bias;
    *out = ctorch::wrap(applies ? RMSLayerNorm::apply(input, weight, optional_bias, eps)
                                : composite(input, weight, bias, eps, torch_form != 0));
  });
}

}  // extern "C"
