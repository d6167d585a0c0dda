import Testing
import Torch

/// float32/float64 `mm`, `mm.out` and `addmm` on the CPU: on AMD CPUs with BLIS installed the shim hands them to BLIS
/// (``Runtime/cpuBLAS``), elsewhere they are libtorch's. Either way every layout a caller may pass (transposed views,
/// rows with padding, single rows and columns, broadcast biases, an output with padded rows) must give the
/// product, checked against sums of elementwise products in float64 (no GEMM in the reference).
@Suite struct CPUBLASTests {
    /// `a · b` without a matrix product: (m, k, 1) · (1, k, n) summed over k, in float64.
    func reference(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try (a.to(dtype: .float64).unsqueeze(2) * b.to(dtype: .float64).unsqueeze(0)).sum(dims: [1])
    }

    func maxError(_ result: Tensor, _ expected: Tensor) throws -> Double {
        try (result.to(dtype: .float64) - expected).abs().max().item(Double.self)
    }

    /// A (rows × columns) matrix laid out as asked: row-major, column-major (a transposed view), or row-major with
    /// rows padded by 3 elements (a narrowed view).
    enum Layout: CaseIterable { case rowMajor, columnMajor, paddedRows }

    func matrix(_ rows: Int, _ columns: Int, _ layout: Layout, dtype: DType, seed: UInt64) throws -> Tensor {
        let generator = try Generator(seed: seed)
        switch layout {
        case .rowMajor: return try Tensor.randn([rows, columns], dtype: dtype, generator: generator)
        case .columnMajor: return try Tensor.randn([columns, rows], dtype: dtype, generator: generator).transpose(0, 1)
        case .paddedRows:
            return try Tensor.randn([rows, columns + 3], dtype: dtype, generator: generator).narrow(1, start: 0, length: columns)
        }
    }

    @Test(arguments: [DType.float32, .float64])
    func productsMatchTheReferenceInEveryLayout(dtype: DType) throws {
        let tolerance = dtype == .float32 ? 1e-4 : 1e-12
        for (m, k, n) in [(33, 17, 9), (1, 64, 5), (64, 1, 7), (8, 300, 1), (70, 130, 90)] {
            let pairs: [(Layout, Layout)] = [
                (.rowMajor, .rowMajor), (.rowMajor, .columnMajor), (.columnMajor, .rowMajor),
                (.columnMajor, .columnMajor), (.paddedRows, .paddedRows), (.paddedRows, .columnMajor),
            ]
            for (index, (left, right)) in pairs.enumerated() {
                let a = try matrix(m, k, left, dtype: dtype, seed: UInt64(10 + index))
                let b = try matrix(k, n, right, dtype: dtype, seed: UInt64(20 + index))
                let product = try a.mm(b)
                #expect(product.shape == [m, n] && product.dtype == dtype)
                let error = try maxError(product, reference(a, b))
                #expect(error <= tolerance * Double(k).squareRoot(), "\(m)×\(k)×\(n), \(left) · \(right): error \(error)")
            }
        }
    }

    @Test func addmmScalesAndBroadcastsTheBias() throws {
        let (m, k, n) = (20, 24, 12)
        let a = try matrix(m, k, .rowMajor, dtype: .float32, seed: 1)
        let b = try matrix(k, n, .columnMajor, dtype: .float32, seed: 2)
        let product = try reference(a, b)
        let addmm = Operator("aten::addmm")
        for biasShape in [[n], [1, n], [m, 1], [m, n]] {
            let bias = try Tensor.randn(biasShape, generator: Generator(seed: 3))
            let result = try addmm.callAsTensor([.tensor(bias), .tensor(a), .tensor(b), .double(0.5), .double(2)])
            let expected = try bias.to(dtype: .float64) * 0.5 + product * 2
            #expect(try maxError(result, expected) <= 1e-4, "bias \(biasShape)")
        }
        // beta = 0 ignores the bias, NaN included (libtorch's rule).
        let nanBias = try Tensor.full([n], .nan)
        let ignored = try addmm.callAsTensor([.tensor(nanBias), .tensor(a), .tensor(b), .double(0), .double(1)])
        #expect(try maxError(ignored, product) <= 1e-4)
        // A linear layer with bias is addmm; its gradients are mm of the transposed operands.
        let weight = try Tensor.randn([n, k], generator: Generator(seed: 4)).requiresGrad(true)
        let bias = try Tensor.randn([n], generator: Generator(seed: 5)).requiresGrad(true)
        try Functional.linear(a, weight: weight, bias: bias).sum().backward()
        let gradWeight = try #require(weight.grad), gradBias = try #require(bias.grad)
        let expectedGradWeight = try reference(Tensor.ones([n, m]), a)
        #expect(try maxError(gradWeight, expectedGradWeight) <= 1e-4)
        #expect(try maxError(gradBias, Tensor.full([n], Double(m), dtype: .float64)) == 0)
    }

    @Test func mmOutWritesIntoPaddedRowsAndLeavesThePaddingAlone() throws {
        let (m, k, n) = (16, 40, 24)
        let a = try matrix(m, k, .rowMajor, dtype: .float32, seed: 6)
        let b = try matrix(k, n, .columnMajor, dtype: .float32, seed: 7)
        let storage = try Tensor.full([m, n + 8], 7)
        let out = try storage.narrow(1, start: 0, length: n)
        _ = try Operator("aten::mm", "out").call([.tensor(a), .tensor(b), .tensor(out)])
        #expect(try maxError(out, reference(a, b)) <= 1e-4)
        let padding = try storage.narrow(1, start: n, length: 8)
        #expect(try (padding - 7).abs().max().item(Double.self) == 0)
    }

    @Test func repeatedProductsAreBitIdentical() throws {
        let a = try matrix(256, 512, .rowMajor, dtype: .float32, seed: 10)
        let b = try matrix(512, 384, .columnMajor, dtype: .float32, seed: 11)
        #expect(try (a.mm(b) - a.mm(b)).abs().max().item(Double.self) == 0)
        if let library = Runtime.cpuBLAS { #expect(library.hasPrefix("BLIS ")) }
    }
}
