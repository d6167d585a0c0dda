import Foundation
import Torch

/// Modalities' `model/debugging_enriched`: statistics of every reported module's inputs, outputs, own parameters
/// and output gradients, one JSON line each, appended to `tensor_stats_rank_<rank>.jsonl`.
///
/// Each line has Modalities' keys in its order: `tensor_tag` (the module path, or the parameter's full name),
/// `hook_type` (`forward_input`, `forward_weights`, `forward_output`, `backward_output`), `global_shape`,
/// `local_shape`, `dtype`, `is_dtensor`, `nan_count`, `inf_count`, `mean`, `std`, `min`, `max` (-1 where the dtype
/// has none: mean and std for float32/bfloat16 only, min and max for those and int32/int64), `counter` (the call's
/// number for that module and hook), `rank` and `timestamp_ns`. With `logIntervalSteps` n > 0 only every n-th call of
/// a module's hook is written.
///
/// A module's own parameters are those under its path that no reported module below it owns (the linear layers
/// inside attention and MLP count as their module's). Every statistic reads values back from the device: a
/// debugging aid, not for speed.
public final class TensorStatisticsLogger: @unchecked Sendable {  // hooks may run on autograd threads: state under `lock`
    public let file: String
    public let rank: Int
    public let logIntervalSteps: Int
    private let parameters: [(name: String, tensor: Tensor)]
    private let handle: FileHandle
    private let lock = NSLock()
    private var counters: [String: Int] = [:]
    private var reportedPaths: Set<String> = []
    /// Each module's own parameters, worked out on its first report.
    private var ownedParameters: [String: [(name: String, tensor: Tensor)]] = [:]

    /// Opens (creating or appending to) `tensor_stats_rank_<rank>.jsonl` in `folder`.
    public init(folder: String, rank: Int, logIntervalSteps: Int, parameters: [(name: String, tensor: Tensor)]) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        file = folder + "/tensor_stats_rank_\(rank).jsonl"
        if !FileManager.default.fileExists(atPath: file) { FileManager.default.createFile(atPath: file, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: file) else { throw ModelError.invalidConfig("cannot write \(file)") }
        handle.seekToEndOfFile()
        self.handle = handle
        self.rank = rank
        self.logIntervalSteps = logIntervalSteps
        self.parameters = parameters
    }

    deinit { try? handle.close() }

    /// The hook to add to the model (``GPT2LLM/addForwardHook(_:)``).
    public var hook: ForwardHook {
        { [self] event in
            let timestamp = DispatchTime.now().uptimeNanoseconds
            let owned = lock.withLock { () -> [(name: String, tensor: Tensor)] in
                if let known = ownedParameters[event.path] { return known }
                reportedPaths.insert(event.path)
                let prefix = event.path.isEmpty ? "" : event.path + "."
                // Children are reported before their parent, so the paths seen so far include this module's.
                let owned = parameters.filter { parameter in
                    parameter.name.hasPrefix(prefix)
                        && !reportedPaths.contains { $0 != event.path && $0.count > event.path.count && parameter.name.hasPrefix($0 + ".") }
                }
                ownedParameters[event.path] = owned
                return owned
            }
            if let counter = nextCounter(event.path, "forward_pre") {
                for input in event.inputs {
                    try write(input, tag: event.path, hook: "forward_input", counter: counter, timestamp: timestamp)
                }
                for parameter in owned {
                    try write(parameter.tensor, tag: parameter.name, hook: "forward_weights", counter: counter, timestamp: timestamp)
                }
            }
            if let counter = nextCounter(event.path, "forward") {
                for output in event.outputs {
                    try write(output, tag: event.path, hook: "forward_output", counter: counter, timestamp: timestamp)
                }
            }
            let gradientOutputs = event.outputs.filter { $0.requiresGrad && Autograd.isGradEnabled }
            guard !gradientOutputs.isEmpty else { return }
            for output in gradientOutputs {
                _ = try output.registerHook { [self] gradient in
                    if let counter = nextCounter(event.path, "backward") {
                        try write(
                            gradient, tag: event.path, hook: "backward_output", counter: counter,
                            timestamp: DispatchTime.now().uptimeNanoseconds)
                    }
                    return nil
                }
            }
        }
    }

    /// The call's number if this call is written (every `logIntervalSteps`-th), nil otherwise; counts it either way.
    private func nextCounter(_ path: String, _ kind: String) -> Int? {
        lock.withLock {
            let key = kind + "\u{0}" + path
            let counter = counters[key, default: 0]
            counters[key] = counter + 1
            return logIntervalSteps > 0 && counter % logIntervalSteps != 0 ? nil : counter
        }
    }

    private func write(_ tensor: Tensor, tag: String, hook: String, counter: Int, timestamp: UInt64) throws {
        let line =
            try Self.statistics(of: tensor, tag: tag, hook: hook)
            + ", \"counter\": \(counter), \"rank\": \(rank), \"timestamp_ns\": \(timestamp)}\n"
        lock.withLock { handle.write(Data(line.utf8)) }
    }

    /// The line's start: tag, hook and the tensor's statistics, as Modalities' `json.dumps` writes them.
    static func statistics(of tensor: Tensor, tag: String, hook: String) throws -> String {
        let dtype = tensor.dtype
        let isFloat = dtype == .float32 || dtype == .bfloat16
        let isNumeric = isFloat || dtype == .int32 || dtype == .int64
        var nan = 0
        var inf = 0
        if dtype.isFloatingPoint && tensor.count > 0 {
            nan = Int(try tensor.ne(tensor).sum().item(Int64.self))
            inf = Int(try tensor.isfinite().logicalNot().sum().item(Int64.self)) - nan
        }
        func number(_ compute: () throws -> Tensor) throws -> String {
            let value = try compute()
            // Python's .item() keeps integers integral.
            if !value.dtype.isFloatingPoint { return String(try value.to(dtype: .int64).item(Int64.self)) }
            return pythonFloat(try value.to(dtype: .float64).item(Double.self))
        }
        let empty = tensor.count == 0
        let mean = isFloat && !empty ? try number { try tensor.mean() } : "-1"
        let std = isFloat && !empty ? try number { try tensor.variance().sqrt() } : "-1"
        let minimum = isNumeric && !empty ? try number { try tensor.min() } : "-1"
        let maximum = isNumeric && !empty ? try number { try tensor.max() } : "-1"
        let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
        return "{\"tensor_tag\": \(quoted(tag)), \"hook_type\": \"\(hook)\", \"global_shape\": \(shape), \"local_shape\": \(shape), "
            + "\"dtype\": \"torch.\(dtype)\", \"is_dtensor\": false, \"nan_count\": \(nan), \"inf_count\": \(inf), "
            + "\"mean\": \(mean), \"std\": \(std), \"min\": \(minimum), \"max\": \(maximum)"
    }

    /// Python's float repr as `json.dumps` writes it (NaN, Infinity).
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return value.description
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
