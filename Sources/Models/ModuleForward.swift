import Foundation
import Torch

/// One module's forward as a forward hook sees it: PyTorch's `register_forward_hook` on a module of a GPT2LLM's
/// `named_modules()`, under Modalities' module paths and class names.
///
/// GPT2LLM reports its modules down to the norms, the attention and the MLP of each block (`transformer.h.0.attn`,
/// `CausalSelfAttention`), the embeddings (positions included), the dropout after them, the final norm, the head and
/// the model itself (path ""), children before their parent as PyTorch calls them; the linear layers inside the
/// attention and the MLP are not reported on their own.
public struct ModuleForward {
    /// The module's path in the model (`transformer.h.3.mlp`; "" for the model).
    public let path: String
    /// The module's class in Modalities (`GPT2Block`, `SwiGLU`, `LayerNorm`, …).
    public let typeName: String
    public let inputs: [Tensor]
    public let outputs: [Tensor]
}

/// Called with every module's forward; throwing stops the forward with that error.
public typealias ForwardHook = (ModuleForward) throws -> Void

/// Modalities' `nan_hook`: names the first module whose input or output holds NaN or infinite values (and, for
/// outputs that take part in backward, whose gradient does), with the forward pass it happened in, the tensor's
/// shape and how many values are bad. Logs it, and throws ``ModelError/nonFinite(_:)`` when `raiseException`.
///
/// Each check reads a count back from the device: a debugging aid, not for speed.
public final class NonFiniteDetector: @unchecked Sendable {
    public let raiseException: Bool
    /// Where reports go (standard error by default).
    public var report: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    private var forwardCount = 0
    private let lock = NSLock()

    public init(raiseException: Bool) { self.raiseException = raiseException }

    /// The hook to add to a model (``GPT2LLM/addForwardHook(_:)``).
    public var hook: ForwardHook {
        { [self] event in
            // The model's own event ("") comes last in a forward pass: it closes the pass.
            let pass = lock.withLock {
                defer { if event.path.isEmpty { forwardCount += 1 } }
                return forwardCount + 1
            }
            try check(event.inputs, "input", of: event, pass: pass)
            try check(event.outputs, "output", of: event, pass: pass)
            for output in event.outputs where output.requiresGrad && Autograd.isGradEnabled {
                _ = try output.registerHook { [self] gradient in
                    try check([gradient], "gradient", of: event, pass: pass)
                    return nil
                }
            }
        }
    }

    private func check(_ tensors: [Tensor], _ role: String, of event: ModuleForward, pass: Int) throws {
        for tensor in tensors where tensor.dtype.isFloatingPoint {
            let bad = try tensor.isfinite().logicalNot().sum().item(Int64.self)
            guard bad > 0 else { continue }
            let message =
                "NaN or infinite values in the \(role) of \(event.typeName) at \(event.path.isEmpty ? "the model" : event.path) in forward pass \(pass): \(bad) of \(tensor.count) values, shape \(tensor.shape)"
            report(message)
            if raiseException { throw ModelError.nonFinite(message) }
        }
    }
}

/// Modalities' `print_forward_hook`: prints each module's class, path and input and output shapes, and with
/// `printShapeOnly` false the tensors too.
public struct ForwardPrinter: Sendable {
    public let printShapeOnly: Bool

    public init(printShapeOnly: Bool) { self.printShapeOnly = printShapeOnly }

    public var hook: ForwardHook {
        { [printShapeOnly] event in
            var text =
                "Module: \(event.typeName), Path: \(event.path), Input shapes: \(event.inputs.map(\.shape)), Output shapes: \(event.outputs.map(\.shape))\n"
            if !printShapeOnly {
                text += ">>> Input:\n\(try event.inputs.map(Self.summary).joined(separator: "\n"))\n"
                text += ">>> Output:\n\(try event.outputs.map(Self.summary).joined(separator: "\n"))\n"
            }
            // One write per module: lines of ranks sharing a terminal or pipe do not cut into each other.
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// The first values of `tensor` (as PyTorch abbreviates a printed tensor) and its shape.
    public static func summary(_ tensor: Tensor) throws -> String {
        let shown = 8
        let values = try tensor.detach().reshape([-1]).narrow(0, start: 0, length: Swift.min(shown, tensor.count)).to(dtype: .float64)
            .toArray(Double.self)
        let text = values.map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "tensor([\(text)\(tensor.count > shown ? ", …" : "")], shape \(tensor.shape), \(tensor.dtype))"
    }
}
