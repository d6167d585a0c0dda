import CTorch

/// Process-wide facts and settings of the libtorch runtime.
public enum Runtime {
    /// The libtorch version the shim was compiled against.
    public static var compiledVersion: String { String(cString: ct_compiled_version()) }

    /// The version of the libtorch loaded at run time, read from its build options.
    public static func runtimeVersion() throws -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        try check("runtime version", ct_runtime_version(&buffer, buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path of the libtorch_cpu.so loaded in this process.
    public static var libraryLocation: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard ct_library_path(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Checks the runtime version and installs the counting CPU allocator, once per process.
    ///
    /// Every operation calls this first; call it yourself to fail early with a clear message.
    /// - Throws: ``TorchError/versionMismatch(compiled:runtime:)`` when the loaded libtorch differs from the
    ///   one the shim was built for.
    public static func start() throws {
        try startResult.get()
    }

    /// Whether bf16 matrix products on the CPU (`mm`, `addmm`, `bmm`, and the flash attention backward) run as
    /// float32 GEMMs with bf16 results: the shim's kernels on x86 CPUs without bf16 arithmetic (no AVX512-BF16, no
    /// AMX), where libtorch's own bf16 kernels are generic loops some 30 times slower (BENCHMARKS.md). A bf16 GEMM
    /// accumulates bf16 products in float32 either way; `MODALITIES_CPU_BF16_MATMUL=libtorch` keeps libtorch's.
    public static var cpuBF16MatmulsUseFloat32: Bool {
        (try? start()) != nil && ct_cpu_bf16_matmul_through_float32() == 1
    }

    /// Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16, looked for on x86 only). Without it bf16
    /// brings no speed on the CPU: its matrix products run as float32 GEMMs (``cpuBF16MatmulsUseFloat32``) and the
    /// other kernels convert.
    public static var cpuHasBF16Arithmetic: Bool { ct_cpu_has_bf16_arithmetic() == 1 }

    /// The library that float32 and float64 matrix products on the CPU (`mm`, `addmm`) run on when it is not
    /// libtorch's own BLAS: "BLIS <version> (<kernel set>)" on AMD CPUs with BLIS's OpenMP build installed (Debian's
    /// libblis4-openmp), where it is faster than libtorch's MKL (BENCHMARKS.md); nil otherwise.
    /// `MODALITIES_CPU_BLAS=libtorch` keeps libtorch's, `blis` asks for BLIS on other x86-64 CPUs too.
    public static var cpuBLAS: String? {
        guard (try? start()) != nil else { return nil }
        let description = String(cString: ct_cpu_blas())
        return description.isEmpty ? nil : description
    }

    /// The most float32 FLOPs one core of this CPU can retire per cycle, from CPUID: two FMA pipes (the most any x86
    /// core has) × the float32 lanes of the widest vectors the CPU and OS support × 2; nil where unknown (not x86).
    public static var cpuFloat32FlopsPerCycle: Int? {
        let flops = Int(ct_cpu_float32_flops_per_cycle())
        return flops > 0 ? flops : nil
    }

    /// The clock of the core this runs on in Hz, timed on a chain of dependent additions (one per cycle): the best of
    /// `rounds` rounds of about `milliseconds` each, after a warm-up. nil where unknown (not x86-64).
    public static func measureCPUClock(milliseconds: Int = 20, rounds: Int = 10) -> Double? {
        let hertz = ct_cpu_measure_clock_hz(Int32(milliseconds), Int32(rounds))
        return hertz > 0 ? hertz : nil
    }

    /// Number of threads libtorch uses for intra-op parallelism.
    public static var threadCount: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(newValue)) }
    }

    /// Whether libtorch runs only deterministic algorithms (`torch.use_deterministic_algorithms`): operators
    /// without a deterministic implementation then throw instead of running (Modalities' `enable_determinism`).
    public static var deterministicAlgorithms: Bool {
        get { ct_deterministic_algorithms_enabled() != 0 }
        set { ct_set_deterministic_algorithms(newValue ? 1 : 0) }
    }

    /// Seeds the default CPU generator and, when CUDA is loaded, every GPU's default generator (`torch.manual_seed`).
    public static func manualSeed(_ seed: UInt64) throws {
        try start()
        try Generator.defaultCPU.setSeed(seed)
        guard CUDA.isAvailable else { return }
        for index in 0..<CUDA.deviceCount {
            try Generator.defaultGenerator(for: .cuda(index)).setSeed(seed)
        }
    }
}

private let startResult: Result<Void, TorchError> = {
    do {
        let compiled = Runtime.compiledVersion
        let runtime = try Runtime.runtimeVersion()
        guard runtime == compiled else {
            return .failure(.versionMismatch(compiled: compiled, runtime: runtime))
        }
        try check("initialize", ct_initialize())
        return .success(())
    } catch let error as TorchError {
        return .failure(error)
    } catch {
        return .failure(.invalidArgument("\(error)"))
    }
}()

/// Turns a shim status into a Swift error carrying libtorch's message.
@inline(__always)
func check(_ operation: @autoclosure () -> String, _ status: Int32) throws {
    if status != 0 {
        throw TorchError.libtorch(operation: operation(), message: String(cString: ct_last_error()))
    }
}
