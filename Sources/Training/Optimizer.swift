import Models

/// Updates a model's parameters from their gradients (`optimizer/*`). The training loop, the learning-rate
/// schedulers and the app state see an optimizer through this protocol; checkpoint formats that store an
/// optimizer's own state (Adam's moments) ask for the concrete type and name the one they met otherwise.
public protocol Optimizer: AnyObject {
    /// The model whose parameters are updated.
    var model: any Model { get }
    /// State-dict names of the parameters updated, in the optimizer's order.
    var parameterNames: [String] { get }
    /// The learning rate configured; schedulers scale from it.
    var baseLearningRate: Double { get }
    /// The learning rate of the next step.
    var learningRate: Double { get set }
    /// The momentum coefficient of the next step (Adam's beta1), which schedules that cycle momentum set before each
    /// step; nil for an optimizer without one.
    var momentum: Double? { get set }
    /// Applies one update from the gradients accumulated since ``zeroGrad()``.
    func step() throws
    /// Clears the parameters' gradients.
    func zeroGrad() throws
}

extension AdamOptimizer: Optimizer {
    public var momentum: Double? {
        get { beta1 }
        set { if let newValue { beta1 = newValue } }
    }
}
