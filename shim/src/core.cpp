// Errors, versions, threads and tensor basics.
#include "internal.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <caffe2/core/common.h>
#include <torch/headeronly/version.h>

#include <dlfcn.h>

#include <cstring>
#include <sstream>

namespace {
thread_local std::string last_error;

void copy_string(const std::string &value, char *buffer, size_t capacity) {
  TORCH_CHECK(capacity > 0, "buffer capacity is zero");
  size_t length = std::min(value.size(), capacity - 1);
  std::memcpy(buffer, value.data(), length);
  buffer[length] = '\0';
}

char *duplicate(const std::string &value) {
  char *copy = static_cast<char *>(std::malloc(value.size() + 1));
  std::memcpy(copy, value.c_str(), value.size() + 1);
  return copy;
}
} // namespace

void ctorch::set_error(std::string message) { last_error = std::move(message); }

extern "C" {

const char *ct_last_error(void) { return last_error.c_str(); }
void ct_set_error(const char *message) { last_error = message ? message : ""; }

const char *ct_compiled_version(void) { return TORCH_VERSION; }

int ct_runtime_version(char *buffer, size_t capacity) {
  return ctorch::guarded([&] {
    const auto &options = caffe2::GetBuildOptions();
    auto found = options.find("TORCH_VERSION");
    TORCH_CHECK(found != options.end(), "libtorch's build options have no TORCH_VERSION");
    copy_string(found->second, buffer, capacity);
  });
}

int ct_library_path(char *buffer, size_t capacity) {
  return ctorch::guarded([&] {
    Dl_info info{};
    const void *symbol = reinterpret_cast<const void *>(&caffe2::GetBuildOptions);
    TORCH_CHECK(dladdr(symbol, &info) != 0 && info.dli_fname != nullptr, "dladdr found no library for libtorch");
    copy_string(info.dli_fname, buffer, capacity);
  });
}

int ct_initialize(void) {
  return ctorch::guarded([] {
    ctorch::install_counting_allocator();
    ctorch::install_cpu_matmul_kernels();
  });
}

int ct_get_num_threads(void) { return at::get_num_threads(); }
void ct_set_num_threads(int count) { at::set_num_threads(count); }
int ct_deterministic_algorithms_enabled(void) { return at::globalContext().deterministicAlgorithms() ? 1 : 0; }
void ct_set_deterministic_algorithms(int enabled) { at::globalContext().setDeterministicAlgorithms(enabled != 0, false); }

void ct_tensor_free(ct_tensor tensor) { delete tensor; }
ct_tensor ct_tensor_retain(ct_tensor tensor) { return new ct_tensor_s{tensor->tensor}; }
bool ct_tensor_defined(ct_tensor tensor) { return tensor && tensor->tensor.defined(); }
int64_t ct_tensor_dim(ct_tensor tensor) { return tensor->tensor.dim(); }

void ct_tensor_sizes(ct_tensor tensor, int64_t *sizes) {
  auto values = tensor->tensor.sizes();
  std::copy(values.begin(), values.end(), sizes);
}

void ct_tensor_strides(ct_tensor tensor, int64_t *strides) {
  auto values = tensor->tensor.strides();
  std::copy(values.begin(), values.end(), strides);
}

int64_t ct_tensor_numel(ct_tensor tensor) { return tensor->tensor.numel(); }
int ct_tensor_dtype(ct_tensor tensor) { return static_cast<int>(tensor->tensor.scalar_type()); }

void ct_tensor_device(ct_tensor tensor, int *type, int *index) {
  auto device = tensor->tensor.device();
  *type = static_cast<int>(device.type());
  *index = device.index();
}

bool ct_tensor_is_contiguous(ct_tensor tensor) { return tensor->tensor.is_contiguous(); }
bool ct_tensor_requires_grad(ct_tensor tensor) { return tensor->tensor.requires_grad(); }
bool ct_tensor_is_leaf(ct_tensor tensor) { return tensor->tensor.is_leaf(); }

int ct_tensor_set_requires_grad(ct_tensor tensor, bool requires_grad) {
  return ctorch::guarded([&] { ctorch::unwrap(tensor).set_requires_grad(requires_grad); });
}

bool ct_tensor_is_same(ct_tensor a, ct_tensor b) { return a->tensor.is_same(b->tensor); }

int ct_tensor_from_data(const void *data, int dtype, const int64_t *sizes, int64_t dim, ct_tensor *out) {
  return ctorch::guarded([&] {
    auto options = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    at::IntArrayRef shape(sizes, static_cast<size_t>(dim));
    at::Tensor tensor = at::empty(shape, options);
    size_t bytes = tensor.nbytes();
    if (bytes > 0) std::memcpy(tensor.data_ptr(), data, bytes);
    *out = ctorch::wrap(std::move(tensor));
  });
}

int ct_tensor_from_external(void *data, int dtype, const int64_t *sizes, int64_t dim, void (*release)(void *),
                            void *context, ct_tensor *out) {
  return ctorch::guarded([&] {
    auto options = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    at::IntArrayRef shape(sizes, static_cast<size_t>(dim));
    *out = ctorch::wrap(at::from_blob(data, shape, [release, context](void *) { release(context); }, options));
  });
}

int ct_tensor_copy_to_buffer(ct_tensor tensor, void *buffer, size_t bytes) {
  return ctorch::guarded([&] {
    at::Tensor source = ctorch::unwrap(tensor).detach();
    if (!source.device().is_cpu()) source = source.to(at::kCPU);
    source = source.contiguous();
    TORCH_CHECK(source.nbytes() == bytes, "copying a tensor of ", source.nbytes(), " bytes into a buffer of ",
                bytes, " bytes");
    if (bytes > 0) std::memcpy(buffer, source.data_ptr(), bytes);
  });
}

int ct_tensor_description(ct_tensor tensor, char **out) {
  return ctorch::guarded([&] {
    std::ostringstream stream;
    stream << ctorch::unwrap(tensor);
    *out = duplicate(stream.str());
  });
}

void ct_string_free(char *string) { std::free(string); }

} // extern "C"
