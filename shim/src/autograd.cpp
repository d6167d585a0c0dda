// Grad mode, autocast, backward, hooks and custom functions whose backward is a Swift closure.
#include "internal.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <vector>

namespace {

using torch::autograd::variable_list;

/// Owns a Swift context and releases it when the C++ owner goes away.
struct SwiftContext {
  void *context;
  ct_release_fn release;
  SwiftContext(void *context, ct_release_fn release) : context(context), release(release) {}
  SwiftContext(const SwiftContext &) = delete;
  SwiftContext &operator=(const SwiftContext &) = delete;
  ~SwiftContext() {
    if (release) release(context);
  }
};

/// Throws the message a Swift callback left with `ct_set_error`.
[[noreturn]] void rethrow_callback_failure(const std::string &what) {
  TORCH_CHECK(false, what, " failed: ", ct_last_error());
}

/// A post-accumulate-grad hook slot holding any number of Swift hooks (libtorch keeps one slot per tensor).
struct SwiftPostAccumulateHooks : torch::autograd::PostAccumulateGradHook {
  struct Entry {
    ct_post_accumulate_hook_fn hook;
    std::shared_ptr<SwiftContext> context;
  };
  std::vector<Entry> entries;

  void operator()(const torch::autograd::Variable &tensor) override {
    for (const Entry &entry : entries) {
      if (entry.hook(entry.context->context, ctorch::wrap(tensor)) != 0)
        rethrow_callback_failure("a post-accumulate-grad hook");
    }
  }
};

/// The graph node of a custom function: backward calls into Swift.
struct SwiftFunctionNode : torch::autograd::Node {
  std::string node_name;
  ct_backward_fn backward;
  std::unique_ptr<SwiftContext> context;
  int64_t input_count;

  SwiftFunctionNode(std::string name, ct_backward_fn backward, void *context, ct_release_fn release,
                    int64_t input_count)
      : node_name(std::move(name)), backward(backward),
        context(std::make_unique<SwiftContext>(context, release)), input_count(input_count) {}

  std::string name() const override { return node_name; }

  variable_list apply(variable_list &&grads) override {
    std::vector<ct_tensor> grad_outputs;
    grad_outputs.reserve(grads.size());
    for (const at::Tensor &grad : grads) grad_outputs.push_back(ctorch::wrap(grad));
    std::vector<ct_tensor> grad_inputs(static_cast<size_t>(input_count), nullptr);
    int status = backward(context->context, grad_outputs.data(), static_cast<int64_t>(grad_outputs.size()),
                          grad_inputs.data(), input_count);
    variable_list result;
    result.reserve(grad_inputs.size());
    for (ct_tensor handle : grad_inputs) result.push_back(ctorch::consume(handle));
    if (status != 0) rethrow_callback_failure("the backward of " + node_name);
    return result;
  }
};

std::vector<at::Tensor> unwrap_all(const ct_tensor *handles, int64_t count, bool allow_null = false) {
  std::vector<at::Tensor> tensors;
  tensors.reserve(static_cast<size_t>(count));
  for (int64_t index = 0; index < count; ++index) {
    if (allow_null && handles[index] == nullptr) tensors.emplace_back();
    else tensors.push_back(ctorch::unwrap(handles[index]));
  }
  return tensors;
}

} // namespace

extern "C" {

bool ct_grad_mode_is_enabled(void) { return c10::GradMode::is_enabled(); }
void ct_grad_mode_set_enabled(bool enabled) { c10::GradMode::set_enabled(enabled); }

void ct_autocast_enter(int device_type, int dtype, bool *previous_enabled, int *previous_dtype) {
  auto device = static_cast<c10::DeviceType>(device_type);
  *previous_enabled = at::autocast::is_autocast_enabled(device);
  *previous_dtype = static_cast<int>(at::autocast::get_autocast_dtype(device));
  at::autocast::set_autocast_enabled(device, true);
  at::autocast::set_autocast_dtype(device, static_cast<at::ScalarType>(dtype));
  at::autocast::increment_nesting();
}

void ct_autocast_exit(int device_type, bool previous_enabled, int previous_dtype) {
  auto device = static_cast<c10::DeviceType>(device_type);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device, previous_enabled);
  at::autocast::set_autocast_dtype(device, static_cast<at::ScalarType>(previous_dtype));
}

bool ct_autocast_set_cache_enabled(bool enabled) {
  bool previous = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(enabled);
  return previous;
}

bool ct_autocast_is_enabled(int device_type) {
  return at::autocast::is_autocast_enabled(static_cast<c10::DeviceType>(device_type));
}

int ct_autocast_dtype(int device_type) {
  return static_cast<int>(at::autocast::get_autocast_dtype(static_cast<c10::DeviceType>(device_type)));
}

int ct_tensor_grad(ct_tensor tensor, ct_tensor *out) {
  return ctorch::guarded([&] { *out = ctorch::wrap(ctorch::unwrap(tensor).grad()); });
}

int ct_tensor_set_grad(ct_tensor tensor, ct_tensor grad) {
  return ctorch::guarded([&] {
    const at::Tensor &target = ctorch::unwrap(tensor);
    target.mutable_grad() = grad ? grad->tensor : at::Tensor();
  });
}

int ct_tensor_grad_fn_name(ct_tensor tensor, char **out) {
  return ctorch::guarded([&] {
    *out = nullptr;
    const auto &function = ctorch::unwrap(tensor).grad_fn();
    if (!function) return;
    std::string name = function->name();
    *out = static_cast<char *>(std::malloc(name.size() + 1));
    std::memcpy(*out, name.c_str(), name.size() + 1);
  });
}

int ct_backward(const ct_tensor *outputs, const ct_tensor *grad_outputs, int64_t count, bool retain_graph,
                bool create_graph) {
  return ctorch::guarded([&] {
    auto tensors = unwrap_all(outputs, count);
    auto grads = grad_outputs ? unwrap_all(grad_outputs, count, true) : std::vector<at::Tensor>();
    torch::autograd::backward(tensors, grads, retain_graph, create_graph);
  });
}

int ct_grad(const ct_tensor *outputs, const ct_tensor *grad_outputs, int64_t output_count, const ct_tensor *inputs,
            int64_t input_count, bool retain_graph, bool create_graph, bool allow_unused, ct_tensor *grads) {
  return ctorch::guarded([&] {
    auto tensors = unwrap_all(outputs, output_count);
    auto seeds = grad_outputs ? unwrap_all(grad_outputs, output_count, true) : std::vector<at::Tensor>();
    auto wrt = unwrap_all(inputs, input_count);
    auto result = torch::autograd::grad(tensors, wrt, seeds, retain_graph, create_graph, allow_unused);
    for (size_t index = 0; index < result.size(); ++index) grads[index] = ctorch::wrap(result[index]);
  });
}

int ct_tensor_register_hook(ct_tensor tensor, ct_grad_hook_fn hook, void *context, ct_release_fn release,
                            int64_t *handle) {
  auto owner = std::make_shared<SwiftContext>(context, release);
  return ctorch::guarded([&] {
    const at::Tensor &target = ctorch::unwrap(tensor);
    TORCH_CHECK(target.requires_grad(), "cannot register a hook on a tensor that does not require grad");
    *handle = static_cast<int64_t>(target.register_hook([hook, owner](const at::Tensor &grad) -> at::Tensor {
      ct_tensor replacement = nullptr;
      if (hook(owner->context, ctorch::wrap(grad), &replacement) != 0) rethrow_callback_failure("a gradient hook");
      return ctorch::consume(replacement);
    }));
  });
}

int ct_tensor_remove_hook(ct_tensor tensor, int64_t handle) {
  return ctorch::guarded([&] { ctorch::unwrap(tensor).remove_hook(static_cast<unsigned>(handle)); });
}

int ct_tensor_register_post_accumulate_grad_hook(ct_tensor tensor, ct_post_accumulate_hook_fn hook, void *context,
                                                 ct_release_fn release) {
  auto owner = std::make_shared<SwiftContext>(context, release);
  return ctorch::guarded([&] {
    const at::Tensor &target = ctorch::unwrap(tensor);
    TORCH_CHECK(target.is_leaf() && target.requires_grad(),
                "post-accumulate-grad hooks need a leaf tensor that requires grad");
    auto &slot = torch::autograd::impl::post_acc_grad_hooks(target);
    auto *hooks = dynamic_cast<SwiftPostAccumulateHooks *>(slot.get());
    if (hooks == nullptr) {
      TORCH_CHECK(slot == nullptr, "this tensor already has a post-accumulate-grad hook from elsewhere");
      auto fresh = std::make_unique<SwiftPostAccumulateHooks>();
      hooks = fresh.get();
      torch::autograd::impl::set_post_acc_grad_hooks(target, std::move(fresh));
    }
    hooks->entries.push_back({hook, owner});
  });
}

int ct_custom_function_apply(const ct_tensor *inputs, int64_t input_count, const ct_tensor *outputs,
                             int64_t output_count, const char *name, ct_backward_fn backward, void *context,
                             ct_release_fn release, ct_tensor *wrapped) {
  // The node takes the context at once so that it is released exactly once on every path.
  auto node = std::shared_ptr<SwiftFunctionNode>(
      new SwiftFunctionNode(name ? name : "SwiftFunctionBackward", backward, context, release, input_count),
      torch::autograd::deleteNode);
  return ctorch::guarded([&] {
    auto input_tensors = unwrap_all(inputs, input_count);
    bool needs_graph = c10::GradMode::is_enabled() &&
                       std::any_of(input_tensors.begin(), input_tensors.end(),
                                   [](const at::Tensor &tensor) { return tensor.requires_grad(); });
    std::vector<at::Tensor> results;
    results.reserve(static_cast<size_t>(output_count));
    for (int64_t index = 0; index < output_count; ++index) {
      at::Tensor output = ctorch::unwrap(outputs[index]);
      if (needs_graph) {
        // Each output must be a fresh tensor that owns its history: detach, and copy views and inputs.
        bool aliases_input = std::any_of(input_tensors.begin(), input_tensors.end(),
                                          [&](const at::Tensor &input) { return input.is_same(output); });
        c10::AutoGradMode no_grad(false);
        output = (output.is_view() || aliases_input || output.requires_grad()) ? output.detach().clone()
                                                                                 : output.detach();
      }
      results.push_back(output);
    }
    if (needs_graph) {
      node->set_next_edges(torch::autograd::collect_next_edges(input_tensors));
      for (at::Tensor &output : results) {
        if (torch::autograd::isDifferentiableType(output.scalar_type())) torch::autograd::set_history(output, node);
        else node->add_input_metadata(torch::autograd::Node::undefined_input());
      }
    }
    for (int64_t index = 0; index < output_count; ++index) wrapped[index] = ctorch::wrap(results[index]);
  });
}

} // extern "C"
