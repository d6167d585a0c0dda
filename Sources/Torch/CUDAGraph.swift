import CTorch

/// A captured sequence of GPU work replayed with one launch (`torch.cuda.CUDAGraph`).
///
/// Capture runs the work once on a side stream while CUDA records it; ``replay()`` reruns the recording on the
/// same memory, so inputs are written into the tensors the capture read and outputs read from the tensors it made.
/// Shapes, and every host-side decision, are frozen at capture.
public final class CUDAGraph: @unchecked Sendable {  // used from the thread that captured it
    private let handle: ct_cuda_graph

    /// An empty graph; needs the CUDA shim (see ``CUDA/shimProblem``).
    public init() throws {
        try Runtime.start()
        var handle: ct_cuda_graph?
        try check("create a CUDA graph", ct_cuda_graph_new(&handle))
        self.handle = handle!
    }

    deinit { ct_cuda_graph_free(handle) }

    /// Captures the GPU work `body` queues on `device` (`with torch.cuda.graph(g):`).
    ///
    /// As PyTorch does, the device is synchronised first, the capture runs on a stream from the pool that first waits
    /// for the current stream, and the current stream waits for the capture afterwards. Warm the work up (run it a
    /// few times on a side stream) before capturing, so lazily created state exists outside the graph.
    public func capture(on device: Device, _ body: () throws -> Void) throws {
        guard device.kind == .cuda else { throw TorchError.invalidArgument("CUDA graphs capture CUDA work, not \(device)") }
        try Accelerator.synchronize(device)
        let current = try Stream.current(on: device)
        let side = try Stream.fromPool(on: device)
        try side.wait(for: current)
        try side.withCurrent {
            try check("begin CUDA graph capture", ct_cuda_graph_capture_begin(handle))
            var bodyError: Error?
            do { try body() } catch { bodyError = error }
            let endStatus = ct_cuda_graph_capture_end(handle)
            if let bodyError { throw bodyError }
            try check("end CUDA graph capture", endStatus)
        }
        try current.wait(for: side)
    }

    /// Replays the captured work on the current stream.
    public func replay() throws {
        try check("replay a CUDA graph", ct_cuda_graph_replay(handle))
    }

    /// Frees the recording so the graph can capture again.
    public func reset() throws {
        try check("reset a CUDA graph", ct_cuda_graph_reset(handle))
    }
}
