// Causal self-attention on the CPU as a few large GEMMs per head instead of libtorch's flash kernel.
//
// libtorch's CPU flash attention works in 64 × 64 tiles with an online softmax; for the short sequences and small
// head sizes of models trained on a CPU its GEMMs are too small to run near the BLAS's speed (a cpu-small step:
// about 81 ms of flash forward + backward for about a GFLOP of work). Here each block of query rows meets all the
// keys it may see in one GEMM (the blocks above the diagonal are never computed), the softmax runs over rows that
// stay in cache, and only the output and one log-sum-exp per row are kept for backward, which recomputes the
// probabilities (as flash attention does: memory stays O(sequence) per head). Inputs keep their strides (a head's
// rows may be interleaved with other heads', as `view(B, T, H, D).transpose(1, 2)` leaves them), the output and
// the gradients are laid out (B, T, H, D) so that the model's following `transpose(1, 2).reshape` is free, and
// grouped-query attention reads each key/value head in place for its group of query heads.
#include "internal.h"
#include "row_math.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The Fortran BLAS entry points libtorch carries (MKL's on x86-64), looked up once at run time so that a libtorch
// built without them still loads the shim; the kernel then reports itself unavailable.
using sgemm_fn = void (*)(const char *, const char *, const int *, const int *, const int *, const float *,
                          const float *, const int *, const float *, const int *, const float *, float *, const int *);
using dgemm_fn = void (*)(const char *, const char *, const int *, const int *, const int *, const double *,
                          const double *, const int *, const double *, const int *, const double *, double *, const int *);

struct Blas {
  sgemm_fn sgemm = reinterpret_cast<sgemm_fn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  dgemm_fn dgemm = reinterpret_cast<dgemm_fn>(dlsym(RTLD_DEFAULT, "dgemm_"));
  bool available() const { return sgemm != nullptr && dgemm != nullptr; }
};

const Blas &blas() {
  static const Blas loaded;
  return loaded;
}

/// Row-major C (m × n) = alpha · op(A) · op(B) + beta · C, through the column-major BLAS (which sees the
/// transposes: Cᵀ = op(B)ᵀ · op(A)ᵀ).
template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t lda,
          const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {
  const char ta = transpose_b ? 'T' : 'N', tb = transpose_a ? 'T' : 'N';
  const int mm = static_cast<int>(n), nn = static_cast<int>(m), kk = static_cast<int>(k);
  const int la = static_cast<int>(ldb), lb = static_cast<int>(lda), lc = static_cast<int>(ldc);
  if constexpr (std::is_same_v<T, float>) {
    blas().sgemm(&ta, &tb, &mm, &nn, &kk, &alpha, b, &la, a, &lb, &beta, c, &lc);
  } else {
    blas().dgemm(&ta, &tb, &mm, &nn, &kk, &alpha, b, &la, a, &lb, &beta, c, &lc);
  }
}

/// Query rows per block: large enough for efficient GEMMs, small enough that little above the diagonal is wasted.
constexpr int64_t kQueryBlock = 64;

/// One head's matrix inside a (B, H, T, D) tensor with arbitrary strides for B, H, T and unit stride for D.
template <typename T>
struct HeadView {
  T *base;
  int64_t batch_stride, head_stride, row_stride;
  HeadView(const at::Tensor &t)
      : base(t.data_ptr<T>()), batch_stride(t.stride(0)), head_stride(t.stride(1)), row_stride(t.stride(2)) {}
  T *at(int64_t b, int64_t h) const { return base + b * batch_stride + h * head_stride; }
};

/// A (B, H, T, D) tensor whose memory is laid out (B, T, H, D).
at::Tensor empty_sequence_major(const at::Tensor &like, int64_t heads, bool zeroed) {
  auto options = like.options();
  const auto sizes = std::vector<int64_t>{like.size(0), like.size(2), heads, like.size(3)};
  at::Tensor t = zeroed ? at::zeros(sizes, options) : at::empty(sizes, options);
  return t.transpose(1, 2);
}

/// Softmax of the causal part of one block's score rows, in place: row i (sequence position `first_row + i`) keeps
/// keys 0 … first_row + i; the rest become 0. Writes each row's log-sum-exp.
template <typename T>
void causal_softmax_rows(T *scores, int64_t rows, int64_t columns, int64_t first_row, T *log_sum_exp) {
  for (int64_t i = 0; i < rows; ++i) {
    T *row = scores + i * columns;
    const int64_t visible = first_row + i + 1;
    const T maximum = row_max(row, visible);
    const T sum = exp_shifted(row, visible, maximum);
    scale_row(row, visible, T(1) / sum);
    std::fill(row + visible, row + columns, T(0));
    log_sum_exp[i] = maximum + std::log(sum);
  }
}

/// Output (laid out B, T, H, D) and log-sum-exp (B, H, T) of causal attention.
template <typename T>
void attention_forward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, at::Tensor &out,
                       at::Tensor &log_sum_exp) {
  const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2), dim = q.size(3);
  const int64_t group = heads / k.size(1);
  const HeadView<T> Q(q), K(k), V(v), O(out);
  T *lse = log_sum_exp.data_ptr<T>();
  const int64_t blocks = (length + kQueryBlock - 1) / kQueryBlock;
  at::parallel_for(0, batch * heads * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> scores(static_cast<size_t>(kQueryBlock * length));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / (heads * blocks), h = (item / blocks) % heads, block = item % blocks;
      const int64_t first = block * kQueryBlock, rows = std::min(kQueryBlock, length - first), keys = first + rows;
      const T *qh = Q.at(b, h) + first * Q.row_stride;
      const T *kh = K.at(b, h / group), *vh = V.at(b, h / group);
      gemm<T>(false, true, rows, keys, dim, T(scale), qh, Q.row_stride, kh, K.row_stride, T(0), scores.data(), keys);
      causal_softmax_rows<T>(scores.data(), rows, keys, first, lse + (b * heads + h) * length + first);
      gemm<T>(false, false, rows, dim, keys, T(1), scores.data(), keys, vh, V.row_stride, T(0),
              O.at(b, h) + first * O.row_stride, O.row_stride);
    }
  });
}

/// Gradients of causal attention. Work is split by (batch, key/value head), so each thread owns the dK and dV
/// rows it accumulates into; the query heads of a group run one after another.
template <typename T>
void attention_backward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &out,
                        const at::Tensor &log_sum_exp, const at::Tensor &grad_out, double scale, at::Tensor &grad_q,
                        at::Tensor &grad_k, at::Tensor &grad_v) {
  const int64_t batch = q.size(0), heads = q.size(1), kv_heads = k.size(1), length = q.size(2), dim = q.size(3);
  const int64_t group = heads / kv_heads;
  const HeadView<T> Q(q), K(k), V(v), O(out), dO(grad_out), dQ(grad_q), dK(grad_k), dV(grad_v);
  const T *lse = log_sum_exp.data_ptr<T>();
  at::parallel_for(0, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> probabilities(static_cast<size_t>(kQueryBlock * length));
    std::vector<T> grad_scores(static_cast<size_t>(kQueryBlock * length));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / kv_heads, g = item % kv_heads;
      const T *kh = K.at(b, g), *vh = V.at(b, g);
      T *dkh = dK.at(b, g), *dvh = dV.at(b, g);
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const T *row_lse = lse + (b * heads + h) * length;
        for (int64_t first = 0; first < length; first += kQueryBlock) {
          const int64_t rows = std::min(kQueryBlock, length - first), keys = first + rows;
          const T *qb = Q.at(b, h) + first * Q.row_stride, *ob = O.at(b, h) + first * O.row_stride;
          const T *dob = dO.at(b, h) + first * dO.row_stride;
          T *P = probabilities.data(), *dS = grad_scores.data();
          // P = exp(scale · Q Kᵀ − lse), zero above the diagonal.
          gemm<T>(false, true, rows, keys, dim, T(scale), qb, Q.row_stride, kh, K.row_stride, T(0), P, keys);
          for (int64_t i = 0; i < rows; ++i) {
            T *row = P + i * keys;
            const int64_t visible = first + i + 1;
            exp_shifted(row, visible, row_lse[first + i]);
            std::fill(row + visible, row + keys, T(0));
          }
          // dV += Pᵀ dO;  dP = dO Vᵀ.
          gemm<T>(true, false, keys, dim, rows, T(1), P, keys, dob, dO.row_stride, T(1), dvh, dV.row_stride);
          gemm<T>(false, true, rows, keys, dim, T(1), dob, dO.row_stride, vh, V.row_stride, T(0), dS, keys);
          // dS = P ∘ (dP − rowsum(dO ∘ O)).
          for (int64_t i = 0; i < rows; ++i) {
            const T *o = ob + i * O.row_stride, *g_o = dob + i * dO.row_stride;
            T delta = 0;
            for (int64_t d = 0; d < dim; ++d) delta += o[d] * g_o[d];
            T *ds = dS + i * keys;
            const T *p = P + i * keys;
            const int64_t visible = first + i + 1;
            for (int64_t j = 0; j < visible; ++j) ds[j] = p[j] * (ds[j] - delta);
            std::fill(ds + visible, ds + keys, T(0));
          }
          // dQ = scale · dS K;  dK += scale · dSᵀ Q.
          gemm<T>(false, false, rows, dim, keys, T(scale), dS, keys, kh, K.row_stride, T(0),
                  dQ.at(b, h) + first * dQ.row_stride, dQ.row_stride);
          gemm<T>(true, false, keys, dim, rows, T(scale), dS, keys, qb, Q.row_stride, T(1), dkh, dK.row_stride);
        }
      }
    }
  });
}

/// Inputs as the kernels take them: the dtype it computes in, unit stride along the head dimension.
at::Tensor prepared(const at::Tensor &t, at::ScalarType compute) {
  at::Tensor u = t.scalar_type() == compute ? t : t.to(compute);
  return u.stride(3) == 1 ? u : u.contiguous();
}

struct CausalAttention : public torch::autograd::Function<CausalAttention> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &query, const at::Tensor &key,
                            const at::Tensor &value, double scale) {
    RECORD_FUNCTION("modalities::causal_attention", std::vector<c10::IValue>());
    const auto compute = query.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor q = prepared(query, compute), k = prepared(key, compute), v = prepared(value, compute);
    at::Tensor out = empty_sequence_major(q, q.size(1), false);
    at::Tensor lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options());
    if (compute == at::kDouble) attention_forward<double>(q, k, v, scale, out, lse);
    else attention_forward<float>(q, k, v, scale, out, lse);
    ctx->save_for_backward({q, k, v, out, lse});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["dtype"] = static_cast<int64_t>(query.scalar_type());
    return out.scalar_type() == query.scalar_type() ? out : out.to(query.scalar_type());
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    RECORD_FUNCTION("modalities::causal_attention_backward", std::vector<c10::IValue>());
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    const double scale = ctx->saved_data["scale"].toDouble();
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    at::Tensor grad_out = prepared(grads[0], q.scalar_type());
    at::Tensor grad_q = empty_sequence_major(q, q.size(1), false);
    at::Tensor grad_k = empty_sequence_major(k, k.size(1), true);
    at::Tensor grad_v = empty_sequence_major(v, v.size(1), true);
    if (q.scalar_type() == at::kDouble) attention_backward<double>(q, k, v, out, lse, grad_out, scale, grad_q, grad_k, grad_v);
    else attention_backward<float>(q, k, v, out, lse, grad_out, scale, grad_q, grad_k, grad_v);
    auto back = [&](const at::Tensor &g) { return g.scalar_type() == dtype ? g : g.to(dtype); };
    return {back(grad_q), back(grad_k), back(grad_v), at::Tensor()};
  }
};

}  // namespace

extern "C" {

int ct_causal_attention_available(void) {
  static const bool opted_out = [] {
    const char *choice = std::getenv("MODALITIES_CPU_ATTENTION");
    return choice != nullptr && std::strcmp(choice, "libtorch") == 0;
  }();
  return blas().available() && !opted_out ? 1 : 0;
}

// Causal scaled dot-product attention of CPU tensors query (B, H, T, D) and key, value (B, H_kv, T, D) with H a
// multiple of H_kv (grouped-query attention): float64 computes in float64, float32 and bf16/half in float32 (a
// bf16 result is the float32 one rounded). No dropout, no mask other than the causal one, queries and keys of the
// same length (no key/value cache). Differentiable in all three inputs.
int ct_causal_attention(ct_tensor query_handle, ct_tensor key_handle, ct_tensor value_handle, double scale, ct_tensor *out) {
  return ctorch::guarded([&] {
    const at::Tensor &q = ctorch::unwrap(query_handle), &k = ctorch::unwrap(key_handle), &v = ctorch::unwrap(value_handle);
    TORCH_CHECK(blas().available(), "causal attention: this libtorch exports no sgemm_/dgemm_");
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "causal attention takes (B, H, T, D) tensors; got ",
                q.sizes(), ", ", k.sizes(), ", ", v.sizes());
    TORCH_CHECK(q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu(), "causal attention runs on the CPU");
    TORCH_CHECK(k.sizes() == v.sizes() && q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3),
                "causal attention: query ", q.sizes(), ", key ", k.sizes(), " and value ", v.sizes(), " do not match");
    TORCH_CHECK(k.size(1) > 0 && q.size(1) % k.size(1) == 0, "causal attention: ", q.size(1),
                " query heads are not a multiple of ", k.size(1), " key/value heads");
    TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type() && at::isFloatingType(q.scalar_type()),
                "causal attention takes floating-point tensors of one dtype");
    TORCH_CHECK(q.size(2) < std::numeric_limits<int>::max() / kQueryBlock, "causal attention: sequence too long");
    *out = ctorch::wrap(CausalAttention::apply(q, k, v, scale));
  });
}

}  // extern "C"
