import Foundation

/// A checkpoint's `metadata.json` (docs/checkpoint-format.md), parsed and checked: everything a reader relies on
/// before it opens a shard — the format and version, the world and its parallel degrees, and each parameter's whole
/// shape, tensor-parallel dimension and pipeline rank, all consistent with each other.
///
/// It reads only the file's bytes (no libtorch), so the fuzzer runs it on its own (`scripts/fuzz 600
/// checkpoint-metadata`).
public struct CheckpointMetadata {
    static let formatName = "modalities-swift-checkpoint"
    /// The newest version written: 2 adds tensor-parallel slices (`tensor_parallel_degree`, `tensor_parallel_dim`),
    /// 3 pipeline stages (`pipeline_parallel_degree`, `pipeline_rank`); a checkpoint is written with the lowest
    /// version that describes it, so builds that read only version 1 still read every checkpoint without them.
    static let newestVersion = 3
    static let fileName = "metadata.json"
    /// More ranks than any job runs: a world size beyond it is a damaged file, not a checkpoint to look for shards of.
    static let largestWorldSize = 1 << 20

    /// The whole JSON object (experiment id, resolved config, progress, scheduler state, ...).
    public let entries: [String: Any]
    public let version: Int
    /// Ranks that wrote shards: one shard file each.
    public let worldSize: Int
    public let tensorParallelDegree: Int
    public let pipelineDegree: Int
    /// Whole shapes of the saved parameters by name.
    public let shapes: [String: [Int]]
    /// The dimension each tensor-parallel parameter was sliced along, by name.
    public let slicedDimensions: [String: Int]
    /// The pipeline rank whose block of shards holds each parameter (none without pipeline parallelism).
    public let pipelineRanks: [String: Int]

    /// Parses and checks `data`, the content of the metadata file at `path` (named in every error).
    public init(data: Data, path: String) throws {
        func fail(_ reason: String) -> CheckpointError { .unreadable(path: path, reason: reason) }
        guard let entries = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("not a JSON object") }
        guard entries["format"] as? String == Self.formatName, let version = Self.integer(entries["format_version"]) else {
            throw fail("not a \(Self.formatName) metadata file")
        }
        guard version >= 1 else { throw fail("format version \(version) does not exist") }
        guard version <= Self.newestVersion else {
            throw fail("format version \(version) is newer than this build reads (\(Self.newestVersion))")
        }
        guard let world = entries["world"] as? [String: Any], let worldSize = Self.integer(world["world_size"]),
            (1...Self.largestWorldSize).contains(worldSize)
        else {
            throw fail("no world.world_size from 1 to \(Self.largestWorldSize)")
        }
        let tensorParallelDegree = world["tensor_parallel_degree"].map(Self.integer) ?? 1
        let pipelineDegree = world["pipeline_parallel_degree"].map(Self.integer) ?? 1
        guard let tensorParallelDegree, let pipelineDegree, tensorParallelDegree >= 1, pipelineDegree >= 1,
            tensorParallelDegree <= worldSize, pipelineDegree <= worldSize, worldSize % (tensorParallelDegree * pipelineDegree) == 0
        else {
            throw fail(
                "world_size \(worldSize) is not a multiple of tensor_parallel_degree \(String(describing: world["tensor_parallel_degree"] ?? 1)) × pipeline_parallel_degree \(String(describing: world["pipeline_parallel_degree"] ?? 1))"
            )
        }
        var shapes: [String: [Int]] = [:]
        var dimensions: [String: Int] = [:]
        var pipelineRanks: [String: Int] = [:]
        for entry in (entries["model"] as? [String: Any])?["parameters"] as? [[String: Any]] ?? [] {
            guard let name = entry["name"] as? String else { continue }
            if let shape = entry["shape"] {
                guard let dimensions = (shape as? [Any])?.map(Self.integer), dimensions.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                    throw fail("\(name): shape \(shape) is not a list of sizes >= 0")
                }
                let sizes = dimensions.map { $0! }
                var count = 1
                for size in sizes {
                    let (product, overflow) = count.multipliedReportingOverflow(by: size)
                    guard !overflow, product <= Int(Int32.max) * 1024 else {
                        throw fail("\(name): shape \(sizes) holds more elements than a tensor can")
                    }
                    count = product
                }
                shapes[name] = sizes
            }
            if let value = entry["tensor_parallel_dim"] {
                guard let dimension = Self.integer(value) else { throw fail("\(name): tensor_parallel_dim \(value) is not an integer") }
                dimensions[name] = dimension
            }
            if let value = entry["pipeline_rank"] {
                guard let rank = Self.integer(value), (0..<pipelineDegree).contains(rank) else {
                    throw fail("\(name): pipeline_rank \(value) is outside pipeline_parallel_degree \(pipelineDegree)")
                }
                pipelineRanks[name] = rank
            }
        }
        for (name, dimension) in dimensions {
            guard let shape = shapes[name], shape.indices.contains(dimension), shape[dimension] % tensorParallelDegree == 0 else {
                throw fail(
                    "\(name): tensor_parallel_dim \(dimension) does not split its shape \(shapes[name] ?? []) into \(tensorParallelDegree) slices"
                )
            }
        }
        self.entries = entries
        self.version = version
        self.worldSize = worldSize
        self.tensorParallelDegree = tensorParallelDegree
        self.pipelineDegree = pipelineDegree
        self.shapes = shapes
        self.slicedDimensions = dimensions
        self.pipelineRanks = pipelineRanks
    }

    /// A JSON number that is exactly an integer (Swift's bridging refuses 3.5 and 1e300).
    static func integer(_ value: Any?) -> Int? { value as? Int }
}
