import CTorch

#if canImport(Glibc)
import Glibc
#endif

/// Facts of one GPU (`torch.cuda.get_device_properties`).
public struct CUDADeviceProperties: Sendable, Equatable {
    public var name: String
    /// Compute capability, e.g. (9, 0) for Hopper.
    public var computeCapability: (major: Int, minor: Int)
    public var multiprocessors: Int
    public var totalMemoryBytes: Int

    public static func == (lhs: CUDADeviceProperties, rhs: CUDADeviceProperties) -> Bool {
        lhs.name == rhs.name && lhs.computeCapability == rhs.computeCapability
            && lhs.multiprocessors == rhs.multiprocessors && lhs.totalMemoryBytes == rhs.totalMemoryBytes
    }
}

/// libtorch's CUDA backend, loaded at run time so one binary serves CPU-only and GPU machines.
///
/// Call ``load(libraryPath:)`` before anything else touches CUDA, seeding included: libtorch fixes its CUDA hooks
/// the first time they are looked at. Tensors, operators, autocast, streams and events then work on `cuda:N` through
/// the same API as on the CPU; what only CUDA's headers offer (device properties, CUDA graphs, allocator limits)
/// comes from the CUDA shim, which loading brings in beside `libtorch_cuda.so`.
public enum CUDA {
    /// Loads `libtorch_cuda.so` (found through the shim's rpath unless `libraryPath` is given), then the CUDA shim.
    ///
    /// - Throws: when `libtorch_cuda.so` or one of the CUDA libraries it needs does not load; the message names it.
    ///   A CUDA shim that does not load is not an error here: ``shimProblem`` says why, and the calls that need it
    ///   throw that reason.
    public static func load(libraryPath: String? = nil) throws {
        if let libraryPath {
            try check("load CUDA", ct_cuda_load(libraryPath))
        } else {
            try check("load CUDA", ct_cuda_load(nil))
        }
    }

    /// Whether ``load(libraryPath:)`` has succeeded in this process.
    public static var isLoaded: Bool { ct_cuda_loaded() }

    /// Whether the NVIDIA driver's device node exists, i.e. a GPU may be usable (checked without touching CUDA).
    public static var driverNodeExists: Bool { access("/dev/nvidiactl", F_OK) == 0 }

    /// Whether a GPU is usable; false until CUDA is loaded (asking never touches the hooks before that).
    public static var isAvailable: Bool { ct_cuda_is_available() }

    /// Number of visible GPUs (0 until CUDA is loaded).
    public static var deviceCount: Int { Int(ct_cuda_device_count()) }

    /// Why the CUDA shim is not loaded, or nil when it is.
    public static var shimProblem: String? {
        var buffer = [CChar](repeating: 0, count: 1024)
        if ct_cuda_shim_loaded(&buffer, buffer.count) { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The CUDA shim's entry points that this library forwards to (for checking a built CUDA shim).
    public static var shimEntryPoints: [String] {
        String(cString: ct_cuda_shim_entry_points()).split(separator: " ").map(String.init)
    }

    /// Name, compute capability, multiprocessors and memory of GPU `index`.
    public static func deviceProperties(_ index: Int = 0) throws -> CUDADeviceProperties {
        var properties = ct_cuda_device_properties()
        try check("properties of cuda:\(index)", ct_cuda_get_device_properties(Int32(index), &properties))
        let name = withUnsafeBytes(of: properties.name) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return CUDADeviceProperties(
            name: name, computeCapability: (Int(properties.major), Int(properties.minor)),
            multiprocessors: Int(properties.multiprocessors), totalMemoryBytes: Int(properties.total_memory_bytes))
    }

    /// Caps the caching allocator of GPU `index` at `fraction` of its memory
    /// (`torch.cuda.set_per_process_memory_fraction`).
    public static func setMemoryFraction(_ fraction: Double, device index: Int = 0) throws {
        guard fraction > 0 && fraction <= 1 else {
            throw TorchError.invalidArgument("the memory fraction must be in (0, 1], got \(fraction)")
        }
        try check("memory fraction of cuda:\(index)", ct_cuda_set_memory_fraction(fraction, Int32(index)))
    }
}
