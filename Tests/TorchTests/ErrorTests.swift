import Testing

@testable import Torch

/// Bad input throws libtorch's message instead of crashing the process.
@Suite struct ErrorTests {
    @Test func shapeMismatchThrowsLibtorchsMessage() throws {
        let a = try Tensor.zeros([2, 3])
        let b = try Tensor.zeros([4, 5])
        let error = #expect(throws: TorchError.self) { try a.matmul(b) }
        #expect(error?.description.contains("aten::matmul") == true)
        #expect(error?.description.contains("cannot be multiplied") == true)
        #expect(throws: TorchError.self) { try a + b }
        #expect(throws: TorchError.self) { try a.view([5]) }
    }

    @Test func badDtypeThrows() throws {
        let floats = try Tensor.zeros([3])
        let error = #expect(throws: TorchError.self) { try Functional.embedding(floats, weight: Tensor.zeros([4, 2])) }
        #expect(error?.description.contains("Long") == true || error?.description.contains("Int") == true)
        #expect(throws: TorchError.self) { try Tensor([1, 2] as [Int]).requiresGrad(true) }
    }

    @Test func indexOutOfRangeThrows() throws {
        let table = try Tensor.zeros([4, 2])
        let error = #expect(throws: TorchError.self) { try table.indexSelect(0, Tensor([7])) }
        #expect(error?.description.contains("out of range") == true)
        #expect(throws: TorchError.self) { try table.select(0, 9) }
        #expect(throws: TorchError.self) { try table.narrow(1, start: 1, length: 5) }
        #expect(throws: TorchError.self) { try table.transpose(0, 3) }
    }

    @Test func wrongSwiftShapesAreRefusedBeforeLibtorch() throws {
        #expect(throws: TorchError.self) { try Tensor([1, 2, 3] as [Float], shape: [2, 2]) }
        #expect(throws: TorchError.self) { try Tensor.zeros([2]).item(Float.self) }
        #expect(throws: TorchError.self) { try Functional.dropout(Tensor.zeros([2]), p: 1.5) }
        #expect(throws: TorchError.self) { try Tensor.zeros([2]).resizeStorage(toBytes: -1) }
    }

    @Test func unknownOperatorsAndBadArgumentsAreReported() throws {
        let missing = Operator("aten::no_such_operator")
        #expect(throws: TorchError.self) { try missing.call([]) }
        let error = #expect(throws: TorchError.self) { try Operator.add.call([.int(1), .int(2)]) }
        #expect(error?.description.contains("self") == true)
        #expect(throws: TorchError.self) { try Operator.add.call([]) }
    }

    @Test func errorsLeaveTheProcessUsable() throws {
        for _ in 0..<100 {
            _ = try? Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
        }
        #expect(try (Tensor.ones([2]) + Tensor.ones([2])).toArray(Float.self) == [2, 2])
    }
}
