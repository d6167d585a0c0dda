import Testing

@testable import Torch

#if canImport(Glibc)
import Glibc
#endif

/// Allocation accounting, storage resizing and handle lifetimes.
@Suite(.serialized) struct MemoryTests {
    @Test func resizingStorageToZeroFreesItsBytes() throws {
        let tensor = try Tensor.ones([256, 1024])  // 1 MiB of float32
        let bytes = 256 * 1024 * 4
        #expect(try tensor.storageByteCount() == bytes)
        let before = try Memory.cpuStatistics().currentBytes
        try tensor.resizeStorage(toBytes: 0)
        #expect(try tensor.storageByteCount() == 0)
        #expect(try Memory.cpuStatistics().currentBytes <= before - bytes)
        try tensor.resizeStorage(toBytes: bytes)
        #expect(try Memory.cpuStatistics().currentBytes >= before)
        try tensor.fill_(2)
        #expect(try tensor.sum().item(Double.self) == 2 * 256 * 1024)
    }

    @Test func allocatorCountsLiveTensors() throws {
        let start = try Memory.cpuStatistics()
        var tensor: Tensor? = try Tensor.zeros([1000], dtype: .float64)
        let during = try Memory.cpuStatistics()
        #expect(during.currentBytes - start.currentBytes >= 8000)
        #expect(during.allocations > start.allocations)
        #expect(during.peakBytes >= during.currentBytes)
        _ = tensor
        tensor = nil
        #expect(try Memory.cpuStatistics().currentBytes <= during.currentBytes - 8000)
    }

    @Test func freedLargeBlocksAreCachedAndReused() throws {
        try Memory.emptyCPUCache()
        #expect(try Memory.cpuStatistics().cachedBytes == 0)
        let bytes = 1024 * 1024 * 4  // 4 MiB: a 2 MiB-aligned huge-page block
        var tensor: Tensor? = try Tensor.ones([1024, 1024])
        let live = try Memory.cpuStatistics()
        tensor = nil
        let freed = try Memory.cpuStatistics()
        #expect(freed.currentBytes == live.currentBytes - bytes, "cached bytes are not counted as held")
        #expect(freed.cachedBytes == bytes)
        // The same size again takes the cached block; its values are whatever the new tensor writes.
        let again = try Tensor.full([1024, 1024], 3)
        #expect(try Memory.cpuStatistics().cachedBytes == 0)
        #expect(try again.sum().item(Double.self) == 3 * 1024 * 1024)
        _ = tensor
        // Small tensors are not cached.
        var small: Tensor? = try Tensor.ones([1000])
        _ = small
        small = nil
        #expect(try Memory.cpuStatistics().cachedBytes == 0)
    }

    @Test func theCacheKeepsNoMoreThanItsLimit() throws {
        let limit = try Memory.cpuStatistics().cacheLimitBytes
        #expect(limit > 0, "caching is on by default")
        defer { try? Memory.setCPUCacheLimit(bytes: limit) }
        try Memory.emptyCPUCache()
        try Memory.setCPUCacheLimit(bytes: 5 * 1024 * 1024)
        var tensors: [Tensor] = try [[512, 1024], [513, 1024], [514, 1024]].map { try Tensor.zeros($0) }  // about 2 MiB each
        #expect(tensors.count == 3)
        tensors = []
        let kept = try Memory.cpuStatistics().cachedBytes
        #expect(kept > 0 && kept <= 5 * 1024 * 1024, "the oldest blocks go when the cache is over its limit: \(kept)")
        try Memory.setCPUCacheLimit(bytes: 0)
        #expect(try Memory.cpuStatistics().cachedBytes == 0)
        var large: Tensor? = try Tensor.zeros([1024, 1024])
        _ = large
        large = nil
        #expect(try Memory.cpuStatistics().cachedBytes == 0, "a limit of 0 turns caching off")
        #expect(throws: TorchError.self) { try Memory.setCPUCacheLimit(bytes: -1) }
    }

    @Test func tenThousandCreateAndFreeIterationsKeepMemoryFlat() throws {
        func churn(_ iterations: Int) throws {
            for index in 0..<iterations {
                let tensor = try Tensor.full([64], Double(index))
                let sum = try (tensor * 2).sum()
                _ = sum.count
            }
        }
        try churn(1_000)  // warm caches and lazily built libtorch state
        let bytesBefore = try Memory.cpuStatistics().currentBytes
        let residentBefore = residentBytes()
        try churn(10_000)
        #expect(try Memory.cpuStatistics().currentBytes == bytesBefore)
        let growth = residentBytes() - residentBefore
        #expect(growth < 4 * 1024 * 1024, "resident memory grew by \(growth) bytes over 10,000 iterations")
    }

    private func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard
            withUnsafeMutablePointer(
                to: &size,
                { sizePointer in
                    withUnsafeMutablePointer(to: &resident) { residentPointer in
                        withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
                    }
                }) == 2
        else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
