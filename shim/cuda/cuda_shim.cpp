// The CUDA shim: what exists only in CUDA's own headers, behind the `ctcuda_` entry points that the main shim's
// forwarders (src/cuda_loader.cpp) call once libtorch_cuda.so is loaded. Built against the CUDA runtime headers;
// loaded with dlopen, so no CPU-only binary ever needs it.
#include "../src/internal.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#include <torch/csrc/cuda/memory_snapshot.h>

#include <cstdio>

#include <cstring>

struct ct_cuda_graph_s {
  at::cuda::CUDAGraph graph;
};

namespace {

void check_device_index(int device_index) {
  int count = c10::cuda::device_count();
  TORCH_CHECK(device_index >= 0 && device_index < count, "CUDA device index ", device_index, " is out of range (",
              count, " device(s) visible)");
}

ct_cuda_graph_s &unwrap_graph(ct_cuda_graph graph) {
  TORCH_CHECK(graph != nullptr, "the CUDA graph handle is null");
  return *graph;
}

} // namespace

extern "C" {

int ctcuda_get_device_properties(int device_index, ct_cuda_device_properties *out) {
  return ctorch::guarded([&] {
    check_device_index(device_index);
    cudaDeviceProp properties;
    C10_CUDA_CHECK(cudaGetDeviceProperties(&properties, device_index));
    std::memset(out->name, 0, sizeof(out->name));
    std::memcpy(out->name, properties.name, strnlen(properties.name, sizeof(out->name) - 1));
    out->major = properties.major;
    out->minor = properties.minor;
    out->multiprocessors = properties.multiProcessorCount;
    out->total_memory_bytes = static_cast<int64_t>(properties.totalGlobalMem);
  });
}

int ctcuda_set_memory_fraction(double fraction, int device_index) {
  return ctorch::guarded([&] {
    check_device_index(device_index);
    TORCH_CHECK(fraction > 0 && fraction <= 1, "the memory fraction must be in (0, 1], got ", fraction);
    c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, static_cast<c10::DeviceIndex>(device_index));
  });
}

int ctcuda_memory_history(int enabled, int64_t max_entries) {
  return ctorch::guarded([&] {
    if (enabled) {
      TORCH_CHECK(max_entries > 0, "the memory history needs room for at least one event, got ", max_entries);
      // Python's stacks are not there to gather: allocations carry their C++ stacks.
      torch::cuda::_record_memory_history(std::string("all"), std::string("all"), "cpp", static_cast<size_t>(max_entries));
    } else {
      torch::cuda::_record_memory_history(std::nullopt);
    }
  });
}

int ctcuda_memory_snapshot_save(const char *path) {
  return ctorch::guarded([&] {
    std::string pickled = torch::cuda::_memory_snapshot_pickled();
    std::FILE *file = std::fopen(path, "wb");
    TORCH_CHECK(file != nullptr, "cannot write the memory snapshot to ", path);
    size_t written = std::fwrite(pickled.data(), 1, pickled.size(), file);
    std::fclose(file);
    TORCH_CHECK(written == pickled.size(), "the memory snapshot was not written completely to ", path);
  });
}

int ctcuda_graph_new(ct_cuda_graph *out) {
  return ctorch::guarded([&] { *out = new ct_cuda_graph_s(); });
}

int ctcuda_graph_capture_begin(ct_cuda_graph graph) {
  return ctorch::guarded([&] { unwrap_graph(graph).graph.capture_begin(); });
}

int ctcuda_graph_capture_end(ct_cuda_graph graph) {
  return ctorch::guarded([&] { unwrap_graph(graph).graph.capture_end(); });
}

int ctcuda_graph_replay(ct_cuda_graph graph) {
  return ctorch::guarded([&] { unwrap_graph(graph).graph.replay(); });
}

int ctcuda_graph_reset(ct_cuda_graph graph) {
  return ctorch::guarded([&] { unwrap_graph(graph).graph.reset(); });
}

int ctcuda_graph_free(ct_cuda_graph graph) {
  return ctorch::guarded([&] { delete graph; });
}

} // extern "C"
