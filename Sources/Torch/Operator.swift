import CTorch

/// One argument of an operator call, in the order of the operator's schema.
public enum Argument {
    case tensor(Tensor)
    case optionalTensor(Tensor?)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case ints([Int])
    case doubles([Double])
    case tensors([Tensor])
    /// A `Tensor?[]` list, as `aten::index` takes.
    case optionalTensors([Tensor?])
    case dtype(DType?)
    case device(Device?)
    case string(String)
    case generator(Generator?)
    case none
    /// The schema's default value for this position.
    case `default`
}

/// One result of an operator call.
public enum OperatorResult {
    case tensor(Tensor)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case none
}

/// An ATen operator found once by schema name and reached through libtorch's dispatcher.
///
/// Calls enter the dispatcher from the top, so autograd, autocast and device dispatch behave as in PyTorch.
/// Missing trailing arguments take the schema's defaults.
public final class Operator: @unchecked Sendable {  // immutable after init; libtorch's handle is thread-safe
    /// The schema name with its overload, e.g. "aten::add.Tensor".
    public let name: String
    private let lookup: Result<ct_op, TorchError>

    /// Looks the operator up in libtorch's registry.
    public init(_ name: String, _ overload: String = "") {
        self.name = overload.isEmpty ? name : "\(name).\(overload)"
        self.lookup = Result {
            try Runtime.start()
            var handle: ct_op?
            try check("find operator \(name).\(overload)", ct_op_find(name, overload, &handle))
            return handle!
        }.mapError { $0 as! TorchError }
    }

    /// Calls the operator and returns every result, flattened (tuples and tensor lists give one entry each).
    ///
    /// - Parameter resultCapacity: an upper bound on the number of flattened results.
    public func call(_ arguments: [Argument], resultCapacity: Int = 4) throws -> [OperatorResult] {
        let handle = try lookup.get()
        return try withArguments(arguments) { values in
            try withUnsafeTemporaryAllocation(of: ct_value.self, capacity: resultCapacity) { results in
                var count: Int64 = 0
                let status = ct_op_call(
                    handle, values.baseAddress, Int64(values.count), results.baseAddress,
                    Int64(resultCapacity), &count)
                try check(name, status)
                let written = min(Int(count), resultCapacity)
                let converted = (0..<written).map { OperatorResult(results[$0]) }
                if Int(count) > resultCapacity {
                    throw TorchError.invalidArgument("\(name) returned \(count) results; room was made for \(resultCapacity)")
                }
                return converted
            }
        }
    }

    /// Calls an operator that returns one tensor.
    public func callAsTensor(_ arguments: [Argument]) throws -> Tensor {
        let results = try call(arguments, resultCapacity: 1)
        guard case .tensor(let tensor)? = results.first else {
            throw TorchError.invalidArgument("\(name) did not return a tensor")
        }
        return tensor
    }

    /// Calls an operator that returns several tensors (a tuple or a list).
    public func callAsTensors(_ arguments: [Argument], resultCapacity: Int = 4) throws -> [Tensor] {
        try call(arguments, resultCapacity: resultCapacity).map { result in
            guard case .tensor(let tensor) = result else {
                throw TorchError.invalidArgument("\(name) returned a non-tensor result")
            }
            return tensor
        }
    }

    /// Calls an operator for its side effect (in-place and `_foreach_*` operators).
    public func callForEffect(_ arguments: [Argument], resultCapacity: Int = 1) throws {
        _ = try call(arguments, resultCapacity: resultCapacity)
    }
}

extension OperatorResult {
    fileprivate init(_ value: ct_value) {
        switch Int(value.kind) {
        case Int(CT_TENSOR.rawValue): self = .tensor(Tensor(owning: OpaquePointer(value.pointer)!))
        case Int(CT_INT.rawValue): self = .int(Int(value.i))
        case Int(CT_DOUBLE.rawValue): self = .double(value.d)
        case Int(CT_BOOL.rawValue): self = .bool(value.i != 0)
        default: self = .none
        }
    }
}

/// Lays `arguments` out as `ct_value`s whose pointers stay valid for the duration of `body`.
private func withArguments<R>(_ arguments: [Argument], _ body: (UnsafeBufferPointer<ct_value>) throws -> R) throws -> R {
    var scratch = ArgumentScratch()
    defer { scratch.release() }
    let values = arguments.map { scratch.value(for: $0) }
    return try withExtendedLifetime(arguments) {
        try values.withUnsafeBufferPointer(body)
    }
}

/// Owns the temporary buffers that list and string arguments point into.
private struct ArgumentScratch {
    private var buffers: [UnsafeMutableRawPointer] = []

    mutating func release() {
        for buffer in buffers { buffer.deallocate() }
    }

    private mutating func copy<T>(_ elements: [T]) -> UnsafeRawPointer {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(elements.count, 1))
        buffer.initialize(from: elements, count: elements.count)
        buffers.append(UnsafeMutableRawPointer(buffer))
        return UnsafeRawPointer(buffer)
    }

    mutating func value(for argument: Argument) -> ct_value {
        var value = ct_value()
        func set(_ kind: ct_kind) { value.kind = Int32(kind.rawValue) }
        switch argument {
        case .tensor(let tensor):
            set(CT_TENSOR)
            value.pointer = UnsafeRawPointer(tensor.handle)
        case .optionalTensor(let tensor):
            if let tensor {
                set(CT_TENSOR)
                value.pointer = UnsafeRawPointer(tensor.handle)
            } else {
                set(CT_NONE)
            }
        case .int(let integer):
            set(CT_INT)
            value.i = Int64(integer)
        case .double(let double):
            set(CT_DOUBLE)
            value.d = double
        case .bool(let bool):
            set(CT_BOOL)
            value.i = bool ? 1 : 0
        case .ints(let integers):
            set(CT_INT_LIST)
            value.pointer = copy(integers.map { Int64($0) })
            value.count = Int64(integers.count)
        case .doubles(let doubles):
            set(CT_DOUBLE_LIST)
            value.pointer = copy(doubles)
            value.count = Int64(doubles.count)
        case .tensors(let tensors):
            set(CT_TENSOR_LIST)
            value.pointer = copy(tensors.map { Optional($0.handle) })
            value.count = Int64(tensors.count)
        case .optionalTensors(let tensors):
            set(CT_TENSOR_LIST)
            value.pointer = copy(tensors.map { $0?.handle })
            value.count = Int64(tensors.count)
        case .dtype(let dtype):
            if let dtype {
                set(CT_DTYPE)
                value.i = Int64(dtype.rawValue)
            } else {
                set(CT_NONE)
            }
        case .device(let device):
            if let device {
                set(CT_DEVICE)
                value.i = Int64(device.kind.rawValue)
                value.count = Int64(device.index ?? -1)
            } else {
                set(CT_NONE)
            }
        case .string(let string):
            set(CT_STRING)
            value.pointer = copy(Array(string.utf8CString))
        case .generator(let generator):
            if let generator {
                set(CT_GENERATOR)
                value.pointer = UnsafeRawPointer(generator.handle)
            } else {
                set(CT_NONE)
            }
        case .none:
            set(CT_NONE)
        case .default:
            set(CT_DEFAULT)
        }
        return value
    }
}
