import Torch

/// The operators the models and the training step use, each on the device against the float64 CPU reference.
extension DeviceSelfTest {
    var operatorChecks: [Check] {
        [
            Check(name: "elementwise add, sub, mul, div with broadcasting") { test in
                try test.compareWithReference { make in
                    let a = try make.normal([8, 16]), b = try make.normal([16]), c = try make.positive([8, 1])
                    return [try a + b, try a - b, try a * b, try a / c, try (a * 2.5) - 1]
                }
            },
            Check(name: "matmul, batched matmul, linear with bias") { test in
                try test.compareWithReference { make in
                    let a = try make.normal([32, 64]), b = try make.normal([64, 48])
                    let x = try make.normal([4, 16, 32]), y = try make.normal([4, 32, 8])
                    let weight = try make.normal([24, 64]), bias = try make.normal([24])
                    return [try a.matmul(b), try x.bmm(y), try Functional.linear(a, weight: weight, bias: bias)]
                }
            },
            Check(name: "exp, log, sqrt, rsqrt, tanh, sigmoid, pow, clamp") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([256]), p = try make.positive([256])
                    return [
                        try x.exp(), try p.log(), try p.sqrt(), try p.rsqrt(), try x.tanh(), try x.sigmoid(),
                        try p.pow(1.7), try x.clamp(min: -0.5, max: 0.5),
                    ]
                }
            },
            Check(name: "softmax and log_softmax") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([8, 1000], scale: 4)
                    return [try x.softmax(dim: -1), try x.logSoftmax(dim: -1)]
                }
            },
            Check(name: "layer_norm and rms_norm") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([16, 96]), weight = try make.normal([96]), bias = try make.normal([96])
                    return [
                        try Functional.layerNorm(x, normalizedShape: [96], weight: weight, bias: bias),
                        try Functional.rmsNorm(x, normalizedShape: [96], weight: weight, eps: 1e-5),
                    ]
                }
            },
            Check(name: "gelu (exact and tanh), silu, relu") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([1024], scale: 3)
                    return [try x.gelu(), try x.gelu(approximate: .tanh), try x.silu(), try x.relu()]
                }
            },
            Check(name: "sum, mean, max, argmax, norm, cumsum") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([12, 40])
                    return [
                        try x.sum(), try x.mean(dims: [1]), try x.max(), try x.max(dim: 0).values,
                        try x.argmax(dim: 1), try x.norm(), try x.cumsum(1),
                    ]
                }
            },
            Check(name: "embedding, index_select, gather") { test in
                try test.compareWithReference { make in
                    let table = try make.normal([50, 16]), ids = try make.indices([4, 7], below: 50)
                    let rows = try make.indices([9], below: 50)
                    return [
                        try Functional.embedding(ids, weight: table), try table.indexSelect(0, rows),
                        try table.gather(1, make.indices([50, 3], below: 16)),
                    ]
                }
            },
            Check(name: "cat, stack, transpose, narrow, triu, masked_fill") { test in
                try test.compareWithReference { make in
                    let a = try make.normal([6, 10]), b = try make.normal([6, 10])
                    let mask = try make.normal([6, 10]).gt(0)
                    return [
                        try Tensor.cat([a, b], dim: 1), try Tensor.stack([a, b]), try a.transpose(0, 1).contiguous(),
                        try a.narrow(1, start: 3, length: 4), try a.triu(1), try a.maskedFill(mask, -7),
                    ]
                }
            },
            Check(name: "sort and topk") { test in
                try test.compareWithReference { make in
                    let x = try make.normal([5, 300])
                    let sorted = try x.sort(dim: -1, descending: true), top = try x.topk(7)
                    // Indices are checked through the values they pick: float32 rounding may reorder near-ties.
                    return [sorted.values, try x.gather(-1, sorted.indices), top.values, try x.gather(-1, top.indices)]
                }
            },
            Check(name: "cross_entropy with ignore_index") { test in
                try test.compareWithReference { make in
                    let logits = try make.normal([64, 500], scale: 3), target = try make.indices([64], below: 500)
                    let ignored = try target.maskedFill(make.indices([64], below: 4).eq(0), -100)
                    return [
                        try Functional.crossEntropy(logits, target: ignored),
                        try Functional.crossEntropy(logits, target: target, reduction: .sum),
                    ]
                }
            },
            Check(name: "scaled_dot_product_attention (causal, grouped-query) against explicit attention") { test in
                try test.compareWithReference { make in
                    let q = try make.normal([2, 8, 33, 16]), k = try make.normal([2, 2, 33, 16]), v = try make.normal([2, 2, 33, 16])
                    let fused = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true, enableGQA: true)
                    // The same attention spelt out: repeat each key/value head for its 4 query heads, mask the future.
                    let keys = try k.unsqueeze(2).expand([2, 2, 4, 33, 16]).reshape([2, 8, 33, 16])
                    let values = try v.unsqueeze(2).expand([2, 2, 4, 33, 16]).reshape([2, 8, 33, 16])
                    let future = try Tensor.ones([33, 33], dtype: .bool, device: q.device).triu(1)
                    let scores = try (q.matmul(keys.transpose(-2, -1)) * 0.25).maskedFill(future, -.infinity)
                    return [fused, try scores.softmax(dim: -1).matmul(values)]
                }
            },
            Check(name: "the models' causal attention and padded-row LM head against explicit computation") { test in
                try test.compareWithReference { make in
                    // On the CPU these are the shim's kernels (float32 here); the float64 side spells them out.
                    let q = try make.normal([2, 4, 70, 16]), k = try make.normal([2, 2, 70, 16]), v = try make.normal([2, 2, 70, 16])
                    let hidden = try make.normal([3, 5, 16]), head = try make.normal([1024, 16])
                    guard make.floatType == .float64 else {
                        return [
                            try Functional.causalAttention(query: q, key: k, value: v),
                            try Functional.linearPaddingRows(hidden, weight: head),
                        ]
                    }
                    let keys = try k.unsqueeze(2).expand([2, 2, 2, 70, 16]).reshape([2, 4, 70, 16])
                    let values = try v.unsqueeze(2).expand([2, 2, 2, 70, 16]).reshape([2, 4, 70, 16])
                    let future = try Tensor.ones([70, 70], dtype: .bool, device: q.device).triu(1)
                    let scores = try (q.matmul(keys.transpose(-2, -1)) * 0.25).maskedFill(future, -.infinity)
                    return [try scores.softmax(dim: -1).matmul(values), try Functional.linear(hidden, weight: head)]
                }
            },
            Check(name: "foreach norm and fused AdamW step") { test in
                try test.compareWithReference { make in
                    let parameters = try [make.normal([32, 8]), make.normal([8])]
                    let grads = try [make.normal([32, 8]), make.normal([8])]
                    let expAvgs = try parameters.map { try $0.zerosLike() }, expAvgSqs = try parameters.map { try $0.zerosLike() }
                    let steps = try parameters.map { try Tensor.zeros([], dtype: make.floatType, device: $0.device) }
                    let norms = try Foreach.norm(grads)
                    for _ in 0..<3 {
                        try Foreach.fusedAdamW_(
                            parameters: parameters, grads: grads, expAvgs: expAvgs, expAvgSqs: expAvgSqs,
                            steps: steps, lr: 1e-2, beta1: 0.9, beta2: 0.95, weightDecay: 0.1, eps: 1e-8)
                    }
                    return norms + parameters + expAvgSqs
                }
            },
            Check(name: "seeded random numbers repeat on the device") { test in
                let generator = try Generator.defaultGenerator(for: test.device)
                try generator.setSeed(77)
                let first = try Tensor.randn([1000], device: test.device)
                let firstDropout = try Functional.dropout(Tensor.ones([1000], device: test.device), p: 0.3)
                try generator.setSeed(77)
                let second = try Tensor.randn([1000], device: test.device)
                let secondDropout = try Functional.dropout(Tensor.ones([1000], device: test.device), p: 0.3)
                guard try first.equal(second), try firstDropout.equal(secondDropout) else {
                    throw Mismatch(description: "the same seed gave different numbers")
                }
                let kept = try firstDropout.gt(0).to(dtype: .float32).mean().item(Double.self)
                guard abs(kept - 0.7) < 0.06 else { throw Mismatch(description: "dropout kept \(kept) of the values, expected about 0.7") }
                return "identical draws after reseeding; dropout kept \(DeviceSelfTest.formatted(kept))"
            },
        ]
    }

    var autogradChecks: [Check] {
        [
            Check(name: "autograd through linear, gelu, layer_norm, cross_entropy") { test in
                try test.compareWithReference(tolerance: 2e-4) { make in
                    let x = try make.parameter([16, 32]), w1 = try make.parameter([64, 32], scale: 0.2), b1 = try make.parameter([64])
                    let w2 = try make.parameter([10, 64], scale: 0.2), target = try make.indices([16], below: 10)
                    let hidden = try Functional.layerNorm(Functional.linear(x, weight: w1, bias: b1).gelu(), normalizedShape: [64])
                    let loss = try Functional.crossEntropy(Functional.linear(hidden, weight: w2), target: target)
                    try loss.backward()
                    return [loss, x.grad!, w1.grad!, b1.grad!, w2.grad!]
                }
            },
            Check(name: "autograd through scaled_dot_product_attention, silu, rms_norm") { test in
                try test.compareWithReference(tolerance: 2e-4) { make in
                    let q = try make.parameter([2, 4, 24, 8]), k = try make.parameter([2, 4, 24, 8]), v = try make.parameter([2, 4, 24, 8])
                    let attended = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
                    let normed = try Functional.rmsNorm(attended.silu(), normalizedShape: [8], eps: 1e-5)
                    let loss = try (normed * normed).sum()
                    try loss.backward()
                    return [loss, q.grad!, k.grad!, v.grad!]
                }
            },
        ]
    }
}
