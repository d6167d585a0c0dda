import CTorch

/// The element type of a tensor; raw values are libtorch's `c10::ScalarType` codes.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case int16 = 2
    case int32 = 3
    case int64 = 4
    case float16 = 5
    case float32 = 6
    case float64 = 7
    case complex64 = 9
    case complex128 = 10
    case bool = 11
    case bfloat16 = 15
    case float8E5M2 = 23
    case float8E4M3FN = 24
    case uint16 = 27
    case uint32 = 28
    case uint64 = 29

    /// Whether values are floating point (the dtypes autograd differentiates).
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .float32, .float64, .bfloat16, .float8E5M2, .float8E4M3FN: return true
        default: return false
        }
    }

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8, .bool, .float8E5M2, .float8E4M3FN: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64, .complex64: return 8
        case .complex128: return 16
        }
    }

    /// PyTorch's name, e.g. `torch.float32` is "float32".
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .bool: return "bool"
        case .bfloat16: return "bfloat16"
        case .complex64: return "complex64"
        case .complex128: return "complex128"
        case .float8E5M2: return "float8_e5m2"
        case .float8E4M3FN: return "float8_e4m3fn"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        }
    }

    /// Parses PyTorch's names and common aliases ("fp32", "bf16", "float", "long").
    public init?(name: String) {
        var name = name.lowercased()
        if name.hasPrefix("torch.") { name.removeFirst("torch.".count) }
        switch name {
        case "uint8": self = .uint8
        case "int8": self = .int8
        case "int16", "short": self = .int16
        case "int32", "int": self = .int32
        case "int64", "long": self = .int64
        case "float16", "fp16", "half": self = .float16
        case "float32", "fp32", "float": self = .float32
        case "float64", "fp64", "double": self = .float64
        case "bool": self = .bool
        case "bfloat16", "bf16": self = .bfloat16
        case "complex64", "cfloat": self = .complex64
        case "complex128", "cdouble": self = .complex128
        case "float8_e5m2": self = .float8E5M2
        case "float8_e4m3fn": self = .float8E4M3FN
        case "uint16": self = .uint16
        case "uint32": self = .uint32
        case "uint64": self = .uint64
        default: return nil
        }
    }
}
