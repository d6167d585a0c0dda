import Dispatch
import Foundation

/// Order-preserving parallel map over an array (batch encoding, packing).
public enum ParallelMap {
    /// `inputs.map(transform)` on up to `threads` threads (all cores when 0); results keep the input order.
    public static func map<Input: Sendable, Output: Sendable>(
        _ inputs: [Input], threads: Int,
        _ transform: @escaping @Sendable (Input) -> Output
    ) -> [Output] {
        let workers = Swift.min(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount, inputs.count)
        guard workers > 1 else { return inputs.map(transform) }
        return [Output](unsafeUninitializedCapacity: inputs.count) { buffer, initialized in
            let output = OutputSlots(base: buffer.baseAddress!)
            let chunk = (inputs.count + workers - 1) / workers
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk
                let end = Swift.min(start + chunk, inputs.count)
                guard start < end else { return }
                // Each worker writes only its own slots.
                for index in start..<end { output.base.advanced(by: index).initialize(to: transform(inputs[index])) }
            }
            initialized = inputs.count
        }
    }
}

/// The result buffer, shared by workers that write disjoint slots.
private struct OutputSlots<Output>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Output>
}
