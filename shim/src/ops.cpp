// Operator calls through the c10 dispatcher: one entry point reaches every ATen operator, with autograd and
// autocast applied exactly as in PyTorch, because the call enters the dispatcher from the top.
#include "internal.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

struct ct_op_s {
  c10::OperatorHandle handle;
  std::string display_name;
};

namespace {

bool expects(const c10::Argument &argument, c10::TypeKind kind) {
  const c10::TypePtr &type = argument.type();
  if (type->kind() == kind) return true;
  if (auto optional = type->cast<c10::OptionalType>()) return optional->getElementType()->kind() == kind;
  return false;
}

bool list_of_optional_tensors(const c10::Argument &argument) {
  c10::TypePtr type = argument.type();
  if (auto optional = type->cast<c10::OptionalType>()) type = optional->getElementType();
  auto list = type->cast<c10::ListType>();
  return list && list->getElementType()->kind() == c10::TypeKind::OptionalType;
}

std::string where(const ct_op_s &op, const c10::Argument &argument) {
  return op.display_name + " argument '" + argument.name() + "' (" + argument.type()->str() + ")";
}

bool is_number(const ct_value &value) {
  return value.kind == CT_INT || value.kind == CT_DOUBLE || value.kind == CT_BOOL;
}

c10::IValue to_ivalue(const ct_op_s &op, const ct_value &value, const c10::Argument &argument) {
  TORCH_CHECK(!(is_number(value) && expects(argument, c10::TypeKind::TensorType)), where(op, argument),
              " needs a tensor, was given a number");
  switch (value.kind) {
  case CT_NONE:
    TORCH_CHECK(argument.type()->kind() == c10::TypeKind::OptionalType || argument.type()->kind() == c10::TypeKind::NoneType,
                where(op, argument), " cannot be None");
    return c10::IValue();
  case CT_TENSOR: {
    auto handle = static_cast<ct_tensor>(const_cast<void *>(value.pointer));
    TORCH_CHECK(expects(argument, c10::TypeKind::TensorType), where(op, argument), " was given a tensor");
    return c10::IValue(ctorch::unwrap(handle));
  }
  case CT_INT:
    if (expects(argument, c10::TypeKind::FloatType)) return c10::IValue(static_cast<double>(value.i));
    if (expects(argument, c10::TypeKind::BoolType)) return c10::IValue(value.i != 0);
    return c10::IValue(value.i);
  case CT_DOUBLE:
    TORCH_CHECK(!expects(argument, c10::TypeKind::IntType) && !expects(argument, c10::TypeKind::SymIntType),
                where(op, argument), " was given a floating-point value");
    return c10::IValue(value.d);
  case CT_BOOL:
    return c10::IValue(value.i != 0);
  case CT_INT_LIST: {
    auto values = static_cast<const int64_t *>(value.pointer);
    return c10::IValue(std::vector<int64_t>(values, values + value.count));
  }
  case CT_DOUBLE_LIST: {
    auto values = static_cast<const double *>(value.pointer);
    return c10::IValue(std::vector<double>(values, values + value.count));
  }
  case CT_TENSOR_LIST: {
    auto handles = static_cast<const ct_tensor *>(value.pointer);
    if (list_of_optional_tensors(argument)) {
      c10::List<std::optional<at::Tensor>> list;
      list.reserve(value.count);
      for (int64_t index = 0; index < value.count; ++index) {
        if (handles[index]) list.push_back(handles[index]->tensor);
        else list.push_back(std::nullopt);
      }
      return c10::IValue(std::move(list));
    }
    c10::List<at::Tensor> list;
    list.reserve(value.count);
    for (int64_t index = 0; index < value.count; ++index) list.push_back(ctorch::unwrap(handles[index]));
    return c10::IValue(std::move(list));
  }
  case CT_DTYPE:
    return c10::IValue(static_cast<at::ScalarType>(value.i));
  case CT_DEVICE:
    return c10::IValue(c10::Device(static_cast<c10::DeviceType>(value.i), static_cast<c10::DeviceIndex>(value.count)));
  case CT_STRING:
    return c10::IValue(std::string(static_cast<const char *>(value.pointer)));
  case CT_GENERATOR:
    return c10::IValue(static_cast<ct_generator>(const_cast<void *>(value.pointer))->generator);
  default:
    TORCH_CHECK(false, where(op, argument), " was given an unknown value kind ", value.kind);
  }
}

struct ResultWriter {
  ct_value *results;
  int64_t capacity;
  int64_t count = 0;

  void put(ct_value value) {
    if (count < capacity) results[count] = value;
    else if (value.kind == CT_TENSOR) ct_tensor_free(static_cast<ct_tensor>(const_cast<void *>(value.pointer)));
    ++count;
  }

  void put_tensor(const at::Tensor &tensor) {
    ct_value value{};
    if (tensor.defined()) {
      value.kind = CT_TENSOR;
      value.pointer = ctorch::wrap(tensor);
    }
    put(value);
  }

  void write(const c10::IValue &ivalue) {
    ct_value value{};
    if (ivalue.isTensor()) {
      put_tensor(ivalue.toTensor());
    } else if (ivalue.isTensorList()) {
      for (const at::Tensor &tensor : ivalue.toTensorVector()) put_tensor(tensor);
    } else if (ivalue.isList()) {
      for (const c10::IValue &element : ivalue.toListRef()) write(element);
    } else if (ivalue.isTuple()) {
      for (const c10::IValue &element : ivalue.toTupleRef().elements()) write(element);
    } else if (ivalue.isInt()) {
      value.kind = CT_INT;
      value.i = ivalue.toInt();
      put(value);
    } else if (ivalue.isDouble()) {
      value.kind = CT_DOUBLE;
      value.d = ivalue.toDouble();
      put(value);
    } else if (ivalue.isBool()) {
      value.kind = CT_BOOL;
      value.i = ivalue.toBool();
      put(value);
    } else if (ivalue.isNone()) {
      put(value);
    } else {
      TORCH_CHECK(false, "unsupported result type ", ivalue.tagKind());
    }
  }
};

} // namespace

extern "C" {

int ct_op_find(const char *name, const char *overload, ct_op *out) {
  return ctorch::guarded([&] {
    auto handle = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload ? overload : "");
    std::string display = name;
    if (overload && *overload) display += std::string(".") + overload;
    *out = new ct_op_s{handle, display};
  });
}

int ct_op_call(ct_op op, const ct_value *arguments, int64_t argument_count, ct_value *results, int64_t capacity,
               int64_t *count) {
  return ctorch::guarded([&] {
    const auto &schema = op->handle.schema();
    const auto &parameters = schema.arguments();
    TORCH_CHECK(argument_count <= static_cast<int64_t>(parameters.size()), op->display_name, " takes ",
                parameters.size(), " arguments, got ", argument_count);
    torch::jit::Stack stack;
    stack.reserve(parameters.size());
    for (size_t index = 0; index < parameters.size(); ++index) {
      const c10::Argument &parameter = parameters[index];
      if (static_cast<int64_t>(index) < argument_count && arguments[index].kind != CT_DEFAULT) {
        stack.push_back(to_ivalue(*op, arguments[index], parameter));
      } else {
        TORCH_CHECK(parameter.default_value().has_value(), op->display_name, " argument '", parameter.name(),
                    "' is required");
        stack.push_back(*parameter.default_value());
      }
    }
    op->handle.callBoxed(stack);
    ResultWriter writer{results, capacity};
    for (const c10::IValue &value : stack) writer.write(value);
    *count = writer.count;
  });
}

int ct_benchmark_add_loop(ct_tensor a, ct_tensor b, int64_t iterations, double *seconds) {
  return ctorch::guarded([&] {
    const at::Tensor &left = ctorch::unwrap(a);
    const at::Tensor &right = ctorch::unwrap(b);
    auto start = std::chrono::steady_clock::now();
    for (int64_t iteration = 0; iteration < iterations; ++iteration) {
      at::Tensor sum = at::add(left, right);
      (void)sum;
    }
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
}

} // extern "C"
