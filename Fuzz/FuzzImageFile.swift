import Foundation

/// PNG and JPEG files as `dataset/image_caption_jsonl` reads them (compiled together with
/// Sources/DataLoading/ImageFile.swift and Dataset.swift, over the C decoder built with libFuzzer's instrumentation):
/// every decoded image is resized and normalised as a sample would be.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "image")
    guard let image = try? RGBImage(contentsOf: path) else { return 0 }
    precondition(image.pixels.count == image.width * image.height * 3)
    // Small images are resized as a dataset would; huge ones only sampled, to keep each run fast.
    if image.width * image.height <= 1 << 20 {
        _ = try? image.resized(width: 7, height: 5).normalized(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
    }
    return 0
}
