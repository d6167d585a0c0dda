import Training

extension AppState {
    /// The app state's optimizer as Adam: every checkpoint format here stores Adam's moments and hyperparameters
    /// (as Modalities' and PyTorch's do for `optimizer/adam` and `optimizer/adam_w`).
    func adam(checkpoint path: String) throws -> AdamOptimizer {
        guard let adam = optimizer as? AdamOptimizer else {
            throw CheckpointError.mismatch(path: path, reason: "checkpoints store Adam's state; the optimizer is \(type(of: optimizer))")
        }
        return adam
    }
}
