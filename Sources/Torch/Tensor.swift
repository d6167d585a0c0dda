import CTorch

/// An n-dimensional array whose storage, autograd history and kernels are libtorch's.
///
/// A `Tensor` owns one libtorch handle and frees it in `deinit`; copies of the Swift reference share the same
/// tensor, as Python names do. Operations read like PyTorch's and throw ``TorchError`` with libtorch's message
/// instead of crashing.
///
/// `Tensor` is `@unchecked Sendable`: its handle never changes, and libtorch counts references atomically.
/// As in PyTorch, mutating one tensor from two threads at once is the caller's race to avoid.
public final class Tensor: @unchecked Sendable {
    package let handle: ct_tensor

    /// Takes ownership of a handle the shim returned.
    init(owning handle: ct_tensor) {
        self.handle = handle
    }

    deinit {
        ct_tensor_free(handle)
    }

    // MARK: Metadata

    /// Number of dimensions.
    public var rank: Int { Int(ct_tensor_dim(handle)) }

    /// The size of each dimension.
    public var shape: [Int] {
        let rank = self.rank
        guard rank > 0 else { return [] }
        return [Int64](unsafeUninitializedCapacity: rank) { buffer, count in
            ct_tensor_sizes(handle, buffer.baseAddress)
            count = rank
        }.map { Int($0) }
    }

    /// The size of dimension `dim` (negative counts from the end).
    public func size(_ dim: Int) -> Int {
        let shape = self.shape
        return shape[dim < 0 ? dim + shape.count : dim]
    }

    /// Element strides of each dimension.
    public var strides: [Int] {
        let rank = self.rank
        guard rank > 0 else { return [] }
        return [Int64](unsafeUninitializedCapacity: rank) { buffer, count in
            ct_tensor_strides(handle, buffer.baseAddress)
            count = rank
        }.map { Int($0) }
    }

    /// Number of elements.
    public var count: Int { Int(ct_tensor_numel(handle)) }

    /// The element type.
    ///
    /// Every dtype except libtorch's quantized and bit-packed ones has a ``DType`` case; those are never created
    /// by this API, and meeting one is a programming error reported with its code.
    public var dtype: DType {
        let code = Int32(ct_tensor_dtype(handle))
        guard let dtype = DType(rawValue: code) else {
            fatalError("libtorch dtype code \(code) (quantized or bit-packed) has no Swift DType")
        }
        return dtype
    }

    /// The device the tensor lives on.
    public var device: Device {
        var type: Int32 = 0
        var index: Int32 = 0
        ct_tensor_device(handle, &type, &index)
        return Device(Device.Kind(rawValue: type) ?? .cpu, index: index < 0 ? nil : Int(index))
    }

    public var isContiguous: Bool { ct_tensor_is_contiguous(handle) }

    /// Whether both references name the same libtorch tensor.
    public func isSame(as other: Tensor) -> Bool { ct_tensor_is_same(handle, other.handle) }

    // MARK: Swift values in and out

    /// A CPU tensor holding a copy of `values`, laid out row-major in `shape` (default: one dimension).
    public convenience init<Element: TensorElement>(_ values: [Element], shape: [Int]? = nil) throws {
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TorchError.invalidArgument("shape \(shape) does not hold \(values.count) values")
        }
        try Runtime.start()
        var handle: ct_tensor?
        let sizes = shape.map { Int64($0) }
        try values.withUnsafeBytes { bytes in
            try check(
                "tensor from Swift values",
                ct_tensor_from_data(bytes.baseAddress, Int32(Element.dtype.rawValue), sizes, Int64(sizes.count), &handle))
        }
        self.init(owning: handle!)
    }

    /// A CPU tensor of `dtype` from its raw little-endian bytes, row-major in `shape` (safetensors, checkpoints).
    public convenience init(bytes: [UInt8], dtype: DType, shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) * dtype.byteCount == bytes.count else {
            throw TorchError.invalidArgument("\(bytes.count) bytes do not hold a \(dtype) tensor of shape \(shape)")
        }
        try Runtime.start()
        var handle: ct_tensor?
        let sizes = shape.map { Int64($0) }
        try bytes.withUnsafeBytes { raw in
            try check("tensor from bytes", ct_tensor_from_data(raw.baseAddress, Int32(dtype.rawValue), sizes, Int64(sizes.count), &handle))
        }
        self.init(owning: handle!)
    }

    /// A CPU tensor over memory it does not own (e.g. a memory-mapped file), without copying; `owner` is kept
    /// alive until libtorch releases the tensor's storage. The memory must stay valid and writable or never written.
    public convenience init(external pointer: UnsafeMutableRawPointer, dtype: DType, shape: [Int], keepingAlive owner: AnyObject) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TorchError.invalidArgument("negative dimension in \(shape)") }
        try Runtime.start()
        var handle: ct_tensor?
        let sizes = shape.map { Int64($0) }
        let context = Unmanaged.passRetained(owner).toOpaque()
        let status = ct_tensor_from_external(
            pointer, Int32(dtype.rawValue), sizes, Int64(sizes.count),
            { context in
                Unmanaged<AnyObject>.fromOpaque(context!).release()
            }, context, &handle)
        if status != 0 { Unmanaged<AnyObject>.fromOpaque(context).release() }
        try check("tensor over external memory", status)
        self.init(owning: handle!)
    }

    /// A zero-dimensional CPU tensor holding `value`.
    public convenience init<Element: TensorElement>(scalar value: Element) throws {
        try self.init([value], shape: [])
    }

    /// The values, in row-major order, converted to `Element`'s dtype first when needed.
    public func toArray<Element: TensorElement>(_ type: Element.Type = Element.self) throws -> [Element] {
        let source = dtype == Element.dtype ? self : try to(dtype: Element.dtype)
        let count = source.count
        return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            try check(
                "read tensor values",
                ct_tensor_copy_to_buffer(source.handle, buffer.baseAddress, count * MemoryLayout<Element>.stride))
            initialized = count
        }
    }

    /// The values as raw little-endian bytes of the tensor's own dtype, row-major (safetensors, checkpoints).
    public func rawBytes() throws -> [UInt8] {
        let byteCount = count * dtype.byteCount
        return try [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            try check("read tensor bytes", ct_tensor_copy_to_buffer(handle, buffer.baseAddress, byteCount))
            initialized = byteCount
        }
    }

    /// The single value of a one-element tensor.
    public func item<Element: TensorElement>(_ type: Element.Type = Element.self) throws -> Element {
        guard count == 1 else {
            throw TorchError.invalidArgument("item() needs a tensor with one element, this one has \(count)")
        }
        return try toArray(type)[0]
    }
}

extension Tensor: CustomStringConvertible {
    /// libtorch's printout of the values, followed by the dtype and shape.
    public var description: String {
        var text: UnsafeMutablePointer<CChar>?
        guard ct_tensor_description(handle, &text) == 0, let text else {
            return "Tensor(\(dtype), shape: \(shape))"
        }
        defer { ct_string_free(text) }
        return String(cString: text)
    }
}

/// A Swift type that can be copied into and out of a tensor without conversion.
public protocol TensorElement {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int: TensorElement { public static var dtype: DType { .int64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension UInt16: TensorElement { public static var dtype: DType { .uint16 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension UInt64: TensorElement { public static var dtype: DType { .uint64 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
#endif
