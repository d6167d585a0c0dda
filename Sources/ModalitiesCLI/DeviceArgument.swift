import ArgumentParser
import Torch

/// The `--device` value of the commands that take one: `cpu`, `cuda` or `cuda:N`.
enum DeviceArgument {
    /// The device `text` names.
    /// - Throws: a `ValidationError` saying what is accepted.
    static func parse(_ text: String) throws -> Device {
        guard let device = Device(text), device.kind != .meta else {
            throw ValidationError("--device must be cpu, cuda or cuda:N, got '\(text)'")
        }
        return device
    }

    /// Makes `device` usable in this process: for a GPU, loads CUDA (before anything touches libtorch's CUDA hooks)
    /// and gives it an index (0 when none was given).
    /// - Throws: why CUDA did not load.
    static func prepare(_ device: Device) throws -> Device {
        guard device.kind == .cuda else { return device }
        try CUDA.load()
        return .cuda(device.index ?? 0)
    }
}
