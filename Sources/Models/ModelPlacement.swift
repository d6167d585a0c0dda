import Foundation
import Torch

/// The device model components build on when their config does not name one: the CPU, unless a training job
/// decided to run on a GPU (`cuda:LOCAL_RANK`) and set it for the time it builds its object graph.
public enum ModelPlacement {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: Device = .cpu

    /// The device new models are built on.
    public static var device: Device {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Makes `device` the one new models are built on; returns the previous one, to restore.
    @discardableResult
    public static func replace(with device: Device) -> Device {
        lock.lock()
        defer { lock.unlock() }
        let previous = current
        current = device
        return previous
    }
}
