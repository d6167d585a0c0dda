// A counting CPU allocator (so tests and benchmarks can measure bytes) and storage resizing (FSDP frees
// unsharded parameters by resizing their storage to zero bytes and back).
#include "internal.h"

#include <ATen/native/Resize.h>
#include <c10/core/GradMode.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstring>

#include <atomic>
#include <mutex>

namespace {

std::atomic<int64_t> current_bytes{0};
std::atomic<int64_t> peak_bytes{0};
std::atomic<int64_t> allocation_count{0};

// Each block carries its size in a 64-byte header in front of the data, so the data pointer is also the
// context, as libtorch's raw_allocate/raw_deallocate require, and alignment stays at 64 bytes.
constexpr size_t header_bytes = 64;

void release_counted(void *data) {
  if (data == nullptr) return;
  char *base = static_cast<char *>(data) - header_bytes;
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  current_bytes.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  c10::free_cpu(base);
}

/// Replaces libtorch's default CPU allocator with the same aligned allocation plus byte counts.
struct CountingAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes == 0) return c10::DataPtr(nullptr, nullptr, &release_counted, cpu);
    char *base = static_cast<char *>(c10::alloc_cpu(bytes + header_bytes));
    std::memcpy(base, &bytes, sizeof bytes);
    void *data = base + header_bytes;
    int64_t now = current_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed) +
                  static_cast<int64_t>(bytes);
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    int64_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return c10::DataPtr(data, data, &release_counted, cpu);
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release_counted; }

  void copy_data(void *destination, const void *source, std::size_t count) const override {
    default_copy_data(destination, source, count);
  }
};

} // namespace

void ctorch::install_counting_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    static CountingAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/10);
  });
}

extern "C" {

void ct_cpu_allocator_stats(int64_t *current, int64_t *peak, int64_t *allocations) {
  *current = current_bytes.load();
  *peak = peak_bytes.load();
  *allocations = allocation_count.load();
}

void ct_cpu_allocator_reset_peak(void) { peak_bytes.store(current_bytes.load()); }

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
