// NCCL process groups: c10d's ProcessGroupNCCL, made here because its header needs CUDA's and NCCL's (nccl.h of
// the version libtorch 2.11 was built with, 2.28.9: the class layout depends on it). The main shim holds the
// backend beside its Gloo group and sends CUDA tensors' collectives to it (src/distributed.cpp).
#define USE_C10D_NCCL 1
#include "../src/internal.h"
#include "../src/nccl_backend.h"

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <chrono>
#include <string>

extern "C" {

int ctcuda_nccl_backend_new(const c10::intrusive_ptr<c10d::Store> &store, int rank, int size, int64_t timeout_ms,
                            int device_index, c10::intrusive_ptr<c10d::Backend> &out) {
  return ctorch::guarded([&] {
    int count = c10::cuda::device_count();
    TORCH_CHECK(device_index >= 0 && device_index < count, "NCCL: cuda:", device_index, " is not a visible device (",
                count, " visible)");
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::milliseconds(timeout_ms);
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    // Barriers and communicator set-up use this device instead of guessing one from the rank.
    group->setBoundDeviceId(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)));
    out = group;
  });
}

int ctcuda_nccl_version(std::string &out) {
  return ctorch::guarded([&] { out = c10d::getNcclVersion(); });
}

}  // extern "C"
