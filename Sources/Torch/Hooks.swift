import CTorch

/// A registered gradient hook; pass it to ``Tensor/removeHook(_:)`` to unregister.
public struct HookHandle: Hashable, Sendable {
    let id: Int64
}

/// Holds a Swift closure for as long as libtorch holds the hook or node that calls it.
final class CallbackBox<Body> {
    let body: Body
    init(_ body: Body) { self.body = body }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> Body {
        Unmanaged<CallbackBox<Body>>.fromOpaque(pointer!).takeUnretainedValue().body
    }
}

/// Releases a ``CallbackBox`` when libtorch drops its owner.
let releaseCallbackBox: ct_release_fn = { pointer in
    Unmanaged<AnyObject>.fromOpaque(pointer!).release()
}

/// Reports a Swift error to the shim, which rethrows it inside libtorch.
func reportCallbackError(_ error: Error) -> Int32 {
    ct_set_error("\(error)")
    return 1
}

typealias GradientHook = (Tensor) throws -> Tensor?
typealias PostAccumulateHook = (Tensor) throws -> Void

extension Tensor {
    /// Calls `hook` with this tensor's gradient each time one is computed; a non-nil result replaces it.
    ///
    /// Hooks run on the thread executing backward: the caller's thread for CPU tensors, libtorch's autograd
    /// device thread for GPU tensors. An error thrown by the hook makes ``backward(_:retainGraph:createGraph:)``
    /// throw.
    @discardableResult
    public func registerHook(_ hook: @escaping (Tensor) throws -> Tensor?) throws -> HookHandle {
        var id: Int64 = 0
        let trampoline: ct_grad_hook_fn = { context, grad, replacement in
            do {
                let result = try CallbackBox<GradientHook>.from(context)(Tensor(owning: grad!))
                replacement!.pointee = result.map { ct_tensor_retain($0.handle) }
                return 0
            } catch {
                return reportCallbackError(error)
            }
        }
        try check(
            "register hook",
            ct_tensor_register_hook(
                handle, trampoline, CallbackBox<GradientHook>(hook).opaque,
                releaseCallbackBox, &id))
        return HookHandle(id: id)
    }

    /// Unregisters a hook returned by ``registerHook(_:)``.
    public func removeHook(_ hook: HookHandle) throws {
        try check("remove hook", ct_tensor_remove_hook(handle, hook.id))
    }

    /// Calls `hook` with this leaf tensor after its `.grad` has been accumulated in a backward pass.
    ///
    /// Optimizers-in-backward and FSDP's reduce-scatter use it. The hook runs on the thread executing backward.
    public func registerPostAccumulateGradHook(_ hook: @escaping (Tensor) throws -> Void) throws {
        let trampoline: ct_post_accumulate_hook_fn = { context, parameter in
            do {
                try CallbackBox<PostAccumulateHook>.from(context)(Tensor(owning: parameter!))
                return 0
            } catch {
                return reportCallbackError(error)
            }
        }
        try check(
            "register post-accumulate-grad hook",
            ct_tensor_register_post_accumulate_grad_hook(
                handle, trampoline,
                CallbackBox<PostAccumulateHook>(hook).opaque,
                releaseCallbackBox))
    }
}
