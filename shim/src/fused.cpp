// Fused kernels: operations PyTorch runs as several full passes over memory, done here in cache-sized pieces.
#include "internal.h"
#include "row_math.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <algorithm>
#include <vector>

extern "C" {

// Mean cross entropy of `logits` (N × V, float32, CPU, rows contiguous: any row stride) against `target` (N, int64;
// `ignore_index` rows count for nothing) whose gradient with respect to the logits replaces the logits in place:
// (softmax − one-hot) / (number of counted rows), zero on ignored rows. Each row is read and written once, while it
// is in cache (max, exp and sum, scale, one-hot), rows split among libtorch's threads; PyTorch's cross_entropy
// writes a log-softmax output and reads it back in a separate backward pass.
int ct_cross_entropy_with_gradient_(ct_tensor logits_handle, ct_tensor target_handle, int64_t ignore_index, ct_tensor *loss_out) {
  return ctorch::guarded([&] {
    RECORD_FUNCTION("modalities::fused_cross_entropy", std::vector<c10::IValue>());
    c10::AutoGradMode no_grad(false);
    at::Tensor logits = ctorch::unwrap(logits_handle);
    at::Tensor target = ctorch::unwrap(target_handle);
    TORCH_CHECK(logits.dim() == 2 && logits.scalar_type() == at::kFloat && logits.stride(1) == 1 && logits.device().is_cpu(),
                "fused cross entropy takes float32 CPU logits of shape (N, V) with contiguous rows; got ", logits.sizes(), " ",
                logits.scalar_type());
    TORCH_CHECK(target.dim() == 1 && target.size(0) == logits.size(0), "target must have shape (", logits.size(0), "); got ", target.sizes());
    target = target.to(at::kLong).contiguous();
    const int64_t rows = logits.size(0), vocabulary = logits.size(1), row_stride = logits.stride(0);
    TORCH_CHECK(vocabulary > 0 || rows == 0, "fused cross entropy needs at least one class");
    const int64_t *labels = target.data_ptr<int64_t>();
    int64_t count = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (labels[r] == ignore_index) continue;
      TORCH_CHECK(labels[r] >= 0 && labels[r] < vocabulary, "target values must lie in [0, ", vocabulary,
                  ") or equal ignore_index ", ignore_index, "; row ", r, " has ", labels[r]);
      ++count;
    }
    const float weight = 1.0f / static_cast<float>(std::max<int64_t>(count, 1));
    float *base = logits.data_ptr<float>();
    std::vector<double> row_losses(static_cast<size_t>(rows), 0.0);
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float *row = base + r * row_stride;
        const int64_t label = labels[r];
        if (label == ignore_index) {
          std::fill(row, row + vocabulary, 0.0f);
          continue;
        }
        const float picked = row[label];
        const float maximum = row_max(row, vocabulary);
        const float sum = exp_shifted(row, vocabulary, maximum);
        row_losses[static_cast<size_t>(r)] = static_cast<double>(maximum) + std::log(static_cast<double>(sum)) - picked;
        scale_row(row, vocabulary, weight / sum);
        row[label] -= weight;
      }
    });
    double total = 0;
    for (double value : row_losses) total += value;
    *loss_out = ctorch::wrap(at::scalar_tensor(total / static_cast<double>(count), logits.options()));
  });
}

}  // extern "C"
