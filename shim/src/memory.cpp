// Storage resizing (FSDP frees unsharded parameters by resizing their storage to zero bytes and back) and
// per-thread call timing. The CPU allocator itself is in cpu_allocator.cpp.
#include "internal.h"

#include <ATen/native/Resize.h>
#include <c10/core/GradMode.h>

#include <atomic>

extern "C" {

int ct_tensor_storage_nbytes(ct_tensor tensor, size_t *out) {
  return ctorch::guarded([&] { *out = ctorch::unwrap(tensor).storage().nbytes(); });
}

int ct_tensor_unallocated(int dtype, const int64_t *sizes, int64_t dim, ct_tensor *out) {
  return ctorch::guarded([&] {
    at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
    tensor.unsafeGetTensorImpl()->set_sizes_contiguous(c10::IntArrayRef(sizes, static_cast<size_t>(dim)));
    *out = ctorch::wrap(std::move(tensor));
  });
}

int ct_tensor_storage_resize(ct_tensor tensor, size_t bytes) {
  return ctorch::guarded([&] {
    const at::Tensor &target = ctorch::unwrap(tensor);
    TORCH_CHECK(target.device().is_cpu(), "storage resize is implemented for CPU tensors; got ", target.device());
    at::native::resize_bytes_cpu(target.storage().unsafeGetStorageImpl(), bytes);
  });
}

int ct_tensor_copy_untracked(ct_tensor destination, ct_tensor source) {
  return ctorch::guarded([&] {
    c10::AutoGradMode no_grad(false);
    at::Tensor data = ctorch::unwrap(destination).variable_data();
    data.copy_(ctorch::unwrap(source));
  });
}

} // extern "C"

namespace ctorch {
std::atomic<bool> call_timing_enabled{false};
thread_local int call_depth = 0;
thread_local std::uint64_t call_nanoseconds = 0;
}  // namespace ctorch

void ct_call_timing_enable(bool enabled) { ctorch::call_timing_enabled.store(enabled); }

uint64_t ct_call_timing_thread_nanoseconds(void) { return ctorch::call_nanoseconds; }

void ct_call_timing_thread_reset(void) { ctorch::call_nanoseconds = 0; }
