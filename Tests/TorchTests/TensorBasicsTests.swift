import Testing

@testable import Torch

@Suite struct TensorBasicsTests {
    @Test func swiftValuesRoundTripForEveryElementType() throws {
        #expect(try Tensor([1.5, -2, 3] as [Float]).toArray(Float.self) == [1.5, -2, 3])
        #expect(try Tensor([1.25, 2.5] as [Double]).toArray(Double.self) == [1.25, 2.5])
        #expect(try Tensor([1, -2, 3] as [Int]).toArray(Int.self) == [1, -2, 3])
        #expect(try Tensor([7, 8] as [Int32]).toArray(Int32.self) == [7, 8])
        #expect(try Tensor([0, 255] as [UInt8]).toArray(UInt8.self) == [0, 255])
        #expect(try Tensor([true, false] as [Bool]).toArray(Bool.self) == [true, false])
        #expect(try Tensor([1.5, 2] as [Float16]).toArray(Float.self) == [1.5, 2])
    }

    @Test func shapeDtypeAndDeviceAreReported() throws {
        let tensor = try Tensor(Array(0..<6).map(Float.init), shape: [2, 3])
        #expect(tensor.shape == [2, 3])
        #expect(tensor.strides == [3, 1])
        #expect(tensor.rank == 2)
        #expect(tensor.count == 6)
        #expect(tensor.dtype == .float32)
        #expect(tensor.device == .cpu)
        #expect(try Tensor(scalar: 3.0).shape == [])
    }

    @Test func everyDtypeConvertsAndReadsBack() throws {
        let source = try Tensor([1, 2, 3] as [Float])
        for dtype in [DType.float32, .bfloat16, .float16, .float64, .int64, .int32, .uint8] {
            let converted = try source.to(dtype: dtype)
            #expect(converted.dtype == dtype)
            #expect(try converted.toArray(Double.self) == [1, 2, 3])
        }
        #expect(try source.gt(1.5).to(dtype: .bool).toArray(Bool.self) == [false, true, true])
    }

    @Test func factoriesFillAsPyTorchDoes() throws {
        #expect(try Tensor.zeros([2, 2]).toArray(Float.self) == [0, 0, 0, 0])
        #expect(try Tensor.ones([3], dtype: .int64).toArray(Int.self) == [1, 1, 1])
        #expect(try Tensor.full([2], 2.5, dtype: .float64).toArray(Double.self) == [2.5, 2.5])
        #expect(try Tensor.arange(5).toArray(Int.self) == [0, 1, 2, 3, 4])
        #expect(try Tensor.arange(1, 2, step: 0.25, dtype: .float32).toArray(Float.self) == [1, 1.25, 1.5, 1.75])
        let permutation = try Tensor.randperm(10, generator: Generator(seed: 3)).toArray(Int.self)
        #expect(permutation.sorted() == Array(0..<10))
        let integers = try Tensor.randint(-3, 4, [1000], generator: Generator(seed: 3)).toArray(Int.self)
        #expect(integers.allSatisfy { (-3..<4).contains($0) })
        #expect(Set(integers).count == 7)
        let uniform = try Tensor.rand([1000], generator: Generator(seed: 3)).toArray(Float.self)
        #expect(uniform.allSatisfy { $0 >= 0 && $0 < 1 })
        let normal = try Tensor.randn([10_000], dtype: .float64, generator: Generator(seed: 3))
        #expect(Swift.abs(try normal.mean().item(Double.self)) < 0.05)
        #expect(Swift.abs(try normal.variance().item(Double.self) - 1) < 0.05)
    }

    @Test func generatorStateRestoreReproducesTheSameNumbers() throws {
        let generator = try Generator(seed: 1234)
        _ = try Tensor.randn([5], generator: generator)
        let saved = try generator.state()
        let first = try Tensor.randn([8], generator: generator).toArray(Float.self)
        let firstInts = try Tensor.randint(0, 100, [8], generator: generator).toArray(Int.self)
        try generator.setState(saved)
        #expect(try Tensor.randn([8], generator: generator).toArray(Float.self) == first)
        #expect(try Tensor.randint(0, 100, [8], generator: generator).toArray(Int.self) == firstInts)

        try generator.setSeed(1234)
        let reseeded = try Generator(seed: 1234)
        #expect(try Tensor.rand([4], generator: generator).toArray(Float.self) == Tensor.rand([4], generator: reseeded).toArray(Float.self))
        #expect(generator.seed == 1234)
    }

    @Test func defaultGeneratorIsSeededByManualSeed() throws {
        try Runtime.manualSeed(99)
        let first = try Tensor.randn([4]).toArray(Float.self)
        try Runtime.manualSeed(99)
        #expect(try Tensor.randn([4]).toArray(Float.self) == first)
    }

    @Test func descriptionShowsValues() throws {
        let text = try Tensor([1, 2] as [Int]).description
        #expect(text.contains("1") && text.contains("2") && text.contains("Long"))
    }

    @Test func runtimeMatchesTheCompiledVersion() throws {
        try Runtime.start()
        #expect(try Runtime.runtimeVersion() == Runtime.compiledVersion)
        #expect(Runtime.compiledVersion == "2.11.0")
        #expect(Runtime.libraryLocation?.hasSuffix("libtorch_cpu.so") == true)
    }

    @Test func versionMismatchSaysHowToRebuild() {
        let message = TorchError.versionMismatch(compiled: "2.11.0", runtime: "2.9.1").description
        #expect(message.contains("2.11.0") && message.contains("2.9.1"))
        #expect(message.contains("make shim LIBTORCH="))
    }

    @Test func loadingCUDAWithoutItsLibrariesFailsClearly() {
        let error = #expect(throws: TorchError.self) { try CUDA.load(libraryPath: "/nonexistent/libtorch_cuda.so") }
        #expect(error?.description.contains("/nonexistent/libtorch_cuda.so") == true)
    }
}
