// Loads libtorch's CUDA backend and the CUDA shim at run time, and forwards the CUDA-only calls to that shim.
//
// The CPU build never links CUDA libraries: libtorch_cuda.so registers its hooks when dlopen'ed, after which the
// device-generic calls (accelerator.cpp, every ATen operator) work on CUDA tensors. What exists only in CUDA's own
// headers (device properties, CUDA graphs, allocator limits) lives in libctorch_cuda_shim.so (shim/cuda), loaded
// here once libtorch_cuda.so is in and reached through the forwarders at the end of this file.
#include "internal.h"

#include <ATen/detail/CUDAHooksInterface.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

std::mutex cuda_mutex;
std::atomic<bool> cuda_loaded{false};
void *cuda_shim = nullptr;
std::string cuda_shim_problem = "CUDA is not loaded: CUDA.load() has not succeeded in this process";

/// The folder of the library holding this function: the CUDA shim is built next to the main one.
std::string own_folder() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&ct_cuda_load), &info) == 0 || info.dli_fname == nullptr) return ".";
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void load_cuda_shim() {
  const char *override_path = std::getenv("MODALITIES_CUDA_SHIM");
  std::string path = override_path ? override_path : own_folder() + "/libctorch_cuda_shim.so";
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char *reason = dlerror();
    cuda_shim_problem = "the CUDA shim did not load from " + path + ": " + (reason ? reason : "unknown reason") +
                        " (build it with `make -C shim cuda`, which needs the CUDA runtime headers)";
    return;
  }
  cuda_shim = library;
  cuda_shim_problem.clear();
}

/// The CUDA shim's entry point `name`, or null with the reason set as this thread's error.
void *cuda_entry(const char *name) {
  std::lock_guard<std::mutex> lock(cuda_mutex);
  if (cuda_shim == nullptr) {
    ctorch::set_error(cuda_shim_problem);
    return nullptr;
  }
  void *symbol = dlsym(cuda_shim, name);
  if (symbol == nullptr) ctorch::set_error(std::string("the CUDA shim has no entry point ") + name);
  return symbol;
}

} // namespace

void *ctorch::cuda_shim_function(const char *name) { return cuda_entry(name); }

int ct_cuda_load(const char *library_path) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(cuda_mutex);
    const char *path = library_path ? library_path : "libtorch_cuda.so";
    void *library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    TORCH_CHECK(library != nullptr, "could not load ", path, ": ", dlerror());
    cuda_loaded = true;
    if (cuda_shim == nullptr) load_cuda_shim();
  });
}

bool ct_cuda_loaded(void) { return cuda_loaded; }

// Both queries answer without touching libtorch's CUDA hooks until the backend is loaded: the first look at the
// hooks fixes them for the life of the process, so asking too early would leave CUDA unusable.
bool ct_cuda_is_available(void) {
  if (!cuda_loaded) return false;
  try {
    return at::detail::getCUDAHooks().hasCUDA();
  } catch (...) {
    return false;
  }
}

int ct_cuda_device_count(void) {
  if (!cuda_loaded) return 0;
  try {
    return at::detail::getCUDAHooks().deviceCount();
  } catch (...) {
    return 0;
  }
}

bool ct_cuda_shim_loaded(char *message, size_t capacity) {
  std::lock_guard<std::mutex> lock(cuda_mutex);
  if (message != nullptr && capacity > 0) {
    size_t length = std::min(cuda_shim_problem.size(), capacity - 1);
    std::memcpy(message, cuda_shim_problem.data(), length);
    message[length] = '\0';
  }
  return cuda_shim != nullptr;
}

// Each forwarder calls the CUDA shim's function of the same name with `ctcuda_` in place of `ct_cuda_`; the
// shim's functions set this library's thread-local error themselves, so statuses pass through unchanged.
#define CT_CUDA_ENTRY_POINTS(X)                                                                                    \
  X(get_device_properties, (int device_index, ct_cuda_device_properties *out), (device_index, out))                \
  X(set_memory_fraction, (double fraction, int device_index), (fraction, device_index))                            \
  X(memory_history, (int enabled, int64_t max_entries), (enabled, max_entries))                                    \
  X(memory_snapshot_save, (const char *path), (path))                                                              \
  X(graph_new, (ct_cuda_graph * out), (out))                                                                       \
  X(graph_capture_begin, (ct_cuda_graph graph), (graph))                                                           \
  X(graph_capture_end, (ct_cuda_graph graph), (graph))                                                             \
  X(graph_replay, (ct_cuda_graph graph), (graph))                                                                  \
  X(graph_reset, (ct_cuda_graph graph), (graph))

#define CT_CUDA_FORWARD(name, parameters, arguments)                                                               \
  int ct_cuda_##name parameters {                                                                                  \
    auto function = reinterpret_cast<int(*) parameters>(cuda_entry("ctcuda_" #name));                             \
    return function ? function arguments : 1;                                                                      \
  }
#define CT_CUDA_NAME(name, parameters, arguments) "ctcuda_" #name " "

CT_CUDA_ENTRY_POINTS(CT_CUDA_FORWARD)

void ct_cuda_graph_free(ct_cuda_graph graph) {
  if (graph == nullptr) return;
  if (auto function = reinterpret_cast<int (*)(ct_cuda_graph)>(cuda_entry("ctcuda_graph_free"))) function(graph);
}

const char *ct_cuda_shim_entry_points(void) {
  static const std::string names = [] {
    // Plus those reached through cuda_shim_function: graph_free and the NCCL backend's (distributed.cpp).
    return std::string(CT_CUDA_ENTRY_POINTS(CT_CUDA_NAME)) + "ctcuda_graph_free ctcuda_nccl_backend_new ctcuda_nccl_version";
  }();
  return names.c_str();
}
