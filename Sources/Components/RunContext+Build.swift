import Config
import Distributed

extension BuildContext {
    /// The run context of the job building the graph (one rank on the CPU when the graph is built outside a job,
    /// as tests and tools do).
    var run: RunContext { environment(RunContext.self) ?? .singleProcess }
}

extension BuildEnvironment {
    /// A graph's environment carrying `run`.
    public init(run: RunContext) {
        self.init()
        self[RunContext.self] = run
    }
}
