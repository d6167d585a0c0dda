/// Forward hooks added to a model's GPT2LLMs (one per pipeline part), until removed: what
/// `model_debugging_hook/*` gives (Modalities' list of `RemovableHandle`s).
public final class ForwardHookRegistration {
    private var handles: [(model: GPT2LLM, handle: Int)]

    /// Adds `hook` to each of `models`.
    public init(_ hook: @escaping ForwardHook, on models: [GPT2LLM]) {
        handles = models.map { ($0, $0.addForwardHook(hook)) }
    }

    /// How many models the hook was added to.
    public var count: Int { handles.count }

    /// Removes the hook from every model.
    public func remove() {
        for (model, handle) in handles { model.removeForwardHook(handle) }
        handles = []
    }
}
