// Fused kernels: operations PyTorch runs as several full passes over memory, done here in cache-sized pieces.
#include "internal.h"
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <algorithm>

extern "C" {

// Mean cross entropy of `logits` (N × V, float32, CPU, rows contiguous: any row stride) against `target` (N, int64; `ignore_index` rows
// count for nothing) whose gradient with respect to the logits replaces the logits in place:
// (softmax − one-hot) / (number of counted rows), zero on ignored rows. One read and one write of the logits, in
// blocks of rows that fit in cache, instead of log_softmax's output plus a separate backward pass.
int ct_cross_entropy_with_gradient_(ct_tensor logits_handle, ct_tensor target_handle, int64_t ignore_index, ct_tensor *loss_out) {
  return ctorch::guarded([&] {
    c10::AutoGradMode no_grad(false);
    at::Tensor logits = ctorch::unwrap(logits_handle);
    at::Tensor target = ctorch::unwrap(target_handle);
    TORCH_CHECK(logits.dim() == 2 && logits.scalar_type() == at::kFloat && logits.stride(1) == 1 && logits.device().is_cpu(),
                "fused cross entropy takes float32 CPU logits of shape (N, V) with contiguous rows; got ", logits.sizes(), " ", logits.scalar_type());
    TORCH_CHECK(target.dim() == 1 && target.size(0) == logits.size(0), "target must have shape (", logits.size(0), "); got ", target.sizes());
    target = target.to(at::kLong).contiguous();
    const int64_t rows = logits.size(0), vocabulary = logits.size(1);
    at::Tensor counted = target.ne(ignore_index);
    at::Tensor safe_target = target.masked_fill(counted.logical_not(), 0).unsqueeze(1);
    TORCH_CHECK(rows == 0 || (safe_target.min().item<int64_t>() >= 0 && safe_target.max().item<int64_t>() < vocabulary),
                "target values must lie in [0, ", vocabulary, ") or equal ignore_index ", ignore_index);
    const int64_t count = counted.sum().item<int64_t>();
    at::Tensor picked = logits.gather(1, safe_target).squeeze(1);
    // Each counted row's gradient is scaled by 1 / count; ignored rows by 0.
    at::Tensor scale = counted.to(at::kFloat).div_(static_cast<double>(std::max<int64_t>(count, 1))).unsqueeze(1);
    at::Tensor log_sum_exp = at::empty({rows, 1}, logits.options());
    // Per block of rows (about 1 MB, so it stays in cache): x − max, exp in place, row sums, then scale each row
    // by its weight / sum; log-sum-exp = max + log(sum).
    const int64_t block = std::max<int64_t>(1, (1024 * 1024) / std::max<int64_t>(vocabulary * 4, 1));
    for (int64_t start = 0; start < rows; start += block) {
      const int64_t length = std::min(block, rows - start);
      at::Tensor chunk = logits.narrow(0, start, length);
      at::Tensor maximum = std::get<0>(chunk.max(1, true));
      chunk.sub_(maximum).exp_();
      at::Tensor sums = chunk.sum(1, true);
      log_sum_exp.narrow(0, start, length).copy_(sums.log().add_(maximum));
      chunk.mul_(scale.narrow(0, start, length).div(sums));
    }
    logits.scatter_add_(1, safe_target, scale.neg());
    at::Tensor loss = (log_sum_exp.squeeze(1) - picked).mul_(counted.to(at::kFloat)).sum().div_(static_cast<double>(count));
    *loss_out = ctorch::wrap(loss);
  });
}

}  // extern "C"
