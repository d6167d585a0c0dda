import Foundation

/// Our checkpoint's metadata.json, parsed and checked (compiled together with Sources/Checkpointing/CheckpointMetadata.swift
/// and CheckpointError.swift, which need nothing else); every accepted file's numbers are used as the reader uses them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointMetadata(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let metadata = try? CheckpointMetadata(data: bytes, path: "metadata.json") else { return 0 }
    let chunks = metadata.worldSize / metadata.pipelineDegree / metadata.tensorParallelDegree
    for (name, shape) in metadata.shapes {
        var sliceShape = shape
        if let dimension = metadata.slicedDimensions[name] { sliceShape[dimension] /= metadata.tensorParallelDegree }
        let first = (metadata.pipelineRanks[name] ?? 0) * (metadata.worldSize / metadata.pipelineDegree)
        _ = (first + chunks, sliceShape.reduce(1, *), shape.reduce(1, *))
    }
    return 0
}
