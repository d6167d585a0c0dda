// The one call from the main shim into the CUDA shim that passes C++ objects: both libraries are built by the same
// compiler against the same libtorch (shim/Makefile builds them together), so c10d's types cross unchanged.
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <cstdint>

namespace ctorch {

/// The CUDA shim's `ctcuda_nccl_backend_new`: c10d's ProcessGroupNCCL for `rank` of `size`, rendezvousing through
/// `store`, bound to cuda:`device_index`. A collective running longer than `timeout_ms` makes NCCL's watchdog abort
/// the communicator and end the process with a message naming the collective (TORCH_NCCL_ASYNC_ERROR_HANDLING).
using NcclBackendFactory = int (*)(const c10::intrusive_ptr<c10d::Store> &store, int rank, int size,
                                   int64_t timeout_ms, int device_index, c10::intrusive_ptr<c10d::Backend> &out);

/// The CUDA shim's `ctcuda_nccl_version`: the NCCL version libtorch runs with, e.g. "2.28.9".
using NcclVersionFunction = int (*)(std::string &out);

}  // namespace ctorch
