import Checkpointing
import Foundation
import Testing

/// A damaged or forged metadata.json is refused with the file and the reason before any shard is opened, and
/// nothing in it can make a later size computation trap.
@Suite struct CheckpointMetadataTests {
    /// A metadata file with `world` and `parameters` as JSON text.
    static func metadata(world: String, parameters: String) -> Data {
        Data(
            """
            {"format": "modalities-swift-checkpoint", "format_version": 3, "world": \(world), "model": {"parameters": \(parameters)}}
            """.utf8)
    }

    @Test func aConsistentFileIsRead() throws {
        let parsed = try CheckpointMetadata(
            data: Self.metadata(
                world: #"{"world_size": 4, "tensor_parallel_degree": 2}"#,
                parameters: #"[{"name": "w", "shape": [8, 4], "tensor_parallel_dim": 0}, {"name": "b", "shape": [4]}]"#),
            path: "m.json")
        #expect(parsed.worldSize == 4 && parsed.tensorParallelDegree == 2 && parsed.pipelineDegree == 1)
        #expect(parsed.shapes == ["w": [8, 4], "b": [4]])
        #expect(parsed.slicedDimensions == ["w": 0])
    }

    @Test(arguments: [
        (
            #"{"world_size": 2}"#, #"[{"name": "w", "shape": [1099511627776, 1099511627776]}]"#,
            "w: shape [1099511627776, 1099511627776] holds more elements than a tensor can"
        ),
        (#"{"world_size": 2}"#, #"[{"name": "w", "shape": [4, -1]}]"#, "w: shape [4, -1] is not a list of sizes >= 0"),
        (#"{"world_size": 2}"#, #"[{"name": "w", "shape": "big"}]"#, "w: shape big is not a list of sizes >= 0"),
        (#"{"world_size": 1099511627776}"#, "[]", "no world.world_size from 1 to 1048576"),
        (#"{"world_size": 0}"#, "[]", "no world.world_size from 1 to 1048576"),
        (#"{"world_size": 2.5}"#, "[]", "no world.world_size from 1 to 1048576"),
        (
            #"{"world_size": 4, "tensor_parallel_degree": 3}"#, "[]",
            "world_size 4 is not a multiple of tensor_parallel_degree 3 × pipeline_parallel_degree 1"
        ),
        (
            #"{"world_size": 4, "tensor_parallel_degree": -2}"#, "[]",
            "world_size 4 is not a multiple of tensor_parallel_degree -2 × pipeline_parallel_degree 1"
        ),
        (
            #"{"world_size": 2, "pipeline_parallel_degree": 2}"#, #"[{"name": "w", "shape": [2], "pipeline_rank": 5}]"#,
            "w: pipeline_rank 5 is outside pipeline_parallel_degree 2"
        ),
        (
            #"{"world_size": 2, "tensor_parallel_degree": 2}"#, #"[{"name": "w", "shape": [3], "tensor_parallel_dim": 0}]"#,
            "w: tensor_parallel_dim 0 does not split its shape [3] into 2 slices"
        ),
        (
            #"{"world_size": 2, "tensor_parallel_degree": 2}"#, #"[{"name": "w", "shape": [4], "tensor_parallel_dim": -1}]"#,
            "w: tensor_parallel_dim -1 does not split its shape [4] into 2 slices"
        ),
    ])
    func hostileValuesAreRefusedWithTheirReason(_ world: String, _ parameters: String, _ reason: String) {
        #expect(throws: CheckpointError.unreadable(path: "ckpt/metadata.json", reason: reason)) {
            try CheckpointMetadata(data: Self.metadata(world: world, parameters: parameters), path: "ckpt/metadata.json")
        }
    }

    @Test func otherFilesAreRefused() {
        for (text, reason) in [
            ("[1, 2]", "not a JSON object"), ("{\"format\": \"x\"}", "not a modalities-swift-checkpoint metadata file"),
            ("{\"format\": \"modalities-swift-checkpoint\", \"format_version\": 4}", "format version 4 is newer than this build reads (3)"),
            ("{\"format\": \"modalities-swift-checkpoint\", \"format_version\": 0}", "format version 0 does not exist"),
        ] {
            #expect(throws: CheckpointError.unreadable(path: "m", reason: reason)) {
                try CheckpointMetadata(data: Data(text.utf8), path: "m")
            }
        }
    }
}
