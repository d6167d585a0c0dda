import Config
import Foundation
import Interop
import Models
import Parallelism
import Tokenizers
import Torch
import Training

/// `norm_type` + `config` as GPT2LLM's `*_norm_config` fields write them.
struct NormConfig: Decodable {
    var norm: GPT2LLMConfig.Norm
    var size: Int

    enum CodingKeys: String, CodingKey { case normType = "norm_type", config }
    enum LayerNormKeys: String, CodingKey { case normalizedShape = "normalized_shape", eps, elementwiseAffine = "elementwise_affine", bias }
    enum RMSNormKeys: String, CodingKey { case ndim, epsilon, bias }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(NormType.self, forKey: .normType)
        switch kind {
        case .layer_norm:
            let config = try container.nestedContainer(keyedBy: LayerNormKeys.self, forKey: .config)
            size = try config.decode(PositiveInt.self, forKey: .normalizedShape).value
            let eps = try config.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5
            _ = try config.decodeIfPresent(Bool.self, forKey: .elementwiseAffine)
            norm = GPT2LLMConfig.Norm(kind: .layerNorm, epsilon: eps, bias: try config.decodeIfPresent(Bool.self, forKey: .bias) ?? true)
        case .pytorch_rms_norm:
            let config = try container.nestedContainer(keyedBy: LayerNormKeys.self, forKey: .config)
            size = try config.decode(PositiveInt.self, forKey: .normalizedShape).value
            norm = GPT2LLMConfig.Norm(
                kind: .pytorchRMSNorm, epsilon: try config.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5, bias: false)
        case .rms_norm:
            let config = try container.nestedContainer(keyedBy: RMSNormKeys.self, forKey: .config)
            size = try config.decode(PositiveInt.self, forKey: .ndim).value
            norm = GPT2LLMConfig.Norm(
                kind: .rmsNorm, epsilon: try config.decodeIfPresent(Double.self, forKey: .epsilon) ?? 1e-6,
                bias: try config.decodeIfPresent(Bool.self, forKey: .bias) ?? true)
        }
    }

    enum NormType: String, ConfigEnum { case layer_norm, rms_norm, pytorch_rms_norm }
}

/// `attention_config.qkv_transforms`: IdentityTransform or RotaryTransform entries.
struct AttentionConfig: Decodable {
    var rotaryBaseFrequency: Double?

    enum CodingKeys: String, CodingKey { case qkvTransforms = "qkv_transforms" }

    struct Transform: Decodable {
        var typeHint: TypeHint
        var baseFrequency: Double?

        enum TypeHint: String, ConfigEnum { case IdentityTransform, RotaryTransform }
        enum CodingKeys: String, CodingKey { case typeHint = "type_hint", config }
        enum RotaryKeys: String, CodingKey {
            case nEmbd = "n_embd", nHead = "n_head", seqLengthDim = "seq_length_dim", baseFreq = "base_freq"
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            typeHint = try container.decode(TypeHint.self, forKey: .typeHint)
            guard typeHint == .RotaryTransform else {
                _ = try container.decodeIfPresent([String: String].self, forKey: .config)
                return
            }
            let config = try container.nestedContainer(keyedBy: RotaryKeys.self, forKey: .config)
            _ = try config.decode(PositiveInt.self, forKey: .nEmbd)
            _ = try config.decode(PositiveInt.self, forKey: .nHead)
            let dimension = try config.decodeIfPresent(Int.self, forKey: .seqLengthDim) ?? -2
            guard dimension == -2 else {
                throw ConfigValueError("seq_length_dim must be -2 (batch, heads, sequence, head size), found \(dimension)")
            }
            baseFrequency = try config.decodeIfPresent(Double.self, forKey: .baseFreq) ?? 10_000
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let transforms = try container.decode([Transform].self, forKey: .qkvTransforms)
        rotaryBaseFrequency = transforms.first { $0.typeHint == .RotaryTransform }?.baseFrequency
    }
}

struct GPT2ModelConfig: Decodable {
    enum PositionType: String, ConfigEnum { case NOPE, ABSOLUTE }
    enum ActivationType: String, ConfigEnum { case gelu, swiglu }
    enum AttentionType: String, ConfigEnum { case manual, pytorch_flash, dao_flash }

    var config: GPT2LLMConfig
    var sampleKey: String
    var predictionKey: String
    var seed: Int?
    var useMetaDevice: Bool

    enum CodingKeys: String, CodingKey {
        case sampleKey = "sample_key", predictionKey = "prediction_key", poeType = "poe_type", sequenceLength = "sequence_length"
        case vocabSize = "vocab_size", nLayer = "n_layer", nHeadQ = "n_head_q", nHeadKV = "n_head_kv", nEmbd = "n_embd"
        case ffnHidden = "ffn_hidden", dropout, bias, activationType = "activation_type"
        case attentionImplementation = "attention_implementation", attentionConfig = "attention_config"
        case attentionNormConfig = "attention_norm_config", ffnNormConfig = "ffn_norm_config", lmHeadNormConfig = "lm_head_norm_config"
        case attentionNorm = "attention_norm", ffnNorm = "ffn_norm", lmHeadNorm = "lm_head_norm"
        case useWeightTying = "use_weight_tying", useMetaDevice = "use_meta_device", seed
        case enforceSwigluHiddenDimMultipleOf = "enforce_swiglu_hidden_dim_multiple_of"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sampleKey = try c.decode(String.self, forKey: .sampleKey)
        predictionKey = try c.decode(String.self, forKey: .predictionKey)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        // Deferred allocation: parameters get memory only when initialised, loaded or sharded (chunks only).
        useMetaDevice = try c.decodeIfPresent(Bool.self, forKey: .useMetaDevice) ?? false
        // Modalities 0.4 and later: `*_norm_config` (norm_type + config); 0.3 and configs still written for it (the
        // getting_started tutorial's text generation): `*_norm` as a `layer_norm/*` component.
        func norm(_ key: CodingKeys, before legacyKey: CodingKeys) throws -> GPT2LLMConfig.Norm {
            if !c.contains(key), c.contains(legacyKey) {
                return try c.decode(EagerComponent<Normalization>.self, forKey: legacyKey).value.config
            }
            return try c.decode(NormConfig.self, forKey: key).norm
        }
        let attention = try c.decode(AttentionConfig.self, forKey: .attentionConfig)
        let attentionType = try c.decode(AttentionType.self, forKey: .attentionImplementation)
        config = GPT2LLMConfig(
            vocabularySize: try c.decode(PositiveInt.self, forKey: .vocabSize).value,
            sequenceLength: try c.decode(PositiveInt.self, forKey: .sequenceLength).value,
            layerCount: try c.decode(PositiveInt.self, forKey: .nLayer).value,
            queryHeads: try c.decode(PositiveInt.self, forKey: .nHeadQ).value,
            keyValueHeads: try c.decode(PositiveInt.self, forKey: .nHeadKV).value,
            embeddingSize: try c.decode(PositiveInt.self, forKey: .nEmbd).value,
            ffnHidden: try c.decode(PositiveInt.self, forKey: .ffnHidden).value,
            dropout: try c.decode(Double.self, forKey: .dropout),
            bias: try c.decode(Bool.self, forKey: .bias),
            positionEmbedding: try c.decode(PositionType.self, forKey: .poeType) == .NOPE ? .none : .absolute,
            rotaryBaseFrequency: attention.rotaryBaseFrequency,
            attentionImplementation: attentionType == .manual ? .manual : attentionType == .pytorch_flash ? .pytorchFlash : .daoFlash,
            activation: try c.decode(ActivationType.self, forKey: .activationType) == .gelu ? .gelu : .swiglu,
            attentionNorm: try norm(.attentionNormConfig, before: .attentionNorm),
            ffnNorm: try norm(.ffnNormConfig, before: .ffnNorm),
            lmHeadNorm: try norm(.lmHeadNormConfig, before: .lmHeadNorm),
            weightTying: try c.decode(Bool.self, forKey: .useWeightTying),
            swigluHiddenMultiple: try c.decodeIfPresent(PositiveInt.self, forKey: .enforceSwigluHiddenDimMultipleOf)?.value ?? 256)
        do {
            try config.validate()
        } catch let error as ModelError {
            throw ConfigValueError(error.description)
        }
    }
}

/// Modalities' `Llama3InitializerConfig`.
struct Llama3InitializationConfig: DeclaredConfig {
    @Field("num_layers") var numLayers: PositiveInt
    @Field("n_embd") var embeddingSize: PositiveInt
    @Field("depth_init") var depthInit = true
}

struct ComposedInitializationConfig: Decodable {
    enum ModelType: String, ConfigEnum { case gpt2, coca }
    enum InitType: String, ConfigEnum { case plain, scaled, scaled_embed }

    var initialization: ComposedInitialization

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", weightInitType = "weight_init_type", mean, std, hiddenDim = "hidden_dim", numLayers = "num_layers"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let modelType = try c.decode(ModelType.self, forKey: .modelType)
        let kind = try c.decode(InitType.self, forKey: .weightInitType)
        let stdText = try c.decode(String.self, forKey: .std)
        let hidden = try c.decodeIfPresent(PositiveInt.self, forKey: .hiddenDim)?.value
        let std: ComposedInitialization.StandardDeviation
        if stdText == "auto" {
            guard let hidden else { throw ConfigValueError("hidden_dim must be given when std is auto") }
            std = .auto(hiddenSize: hidden)
        } else {
            guard let value = Double(stdText), value >= 0 else {
                throw ConfigValueError("std must be a number >= 0 or auto, found '\(stdText)'")
            }
            guard hidden == nil else { throw ConfigValueError("hidden_dim must not be given when std is a number") }
            std = .value(value)
        }
        do {
            initialization = try ComposedInitialization(
                modelType: modelType == .gpt2 ? .gpt2 : .coca,
                weightInitType: kind == .plain ? .plain : kind == .scaled ? .scaled : .scaledEmbed,
                mean: try c.decode(Double.self, forKey: .mean), std: std,
                layerCount: try c.decodeIfPresent(PositiveInt.self, forKey: .numLayers)?.value)
        } catch let error as ModelError {
            throw ConfigValueError(error.description)
        }
    }
}

/// Modalities' `FSDP1ActivationCheckpointedModelConfig`.
struct FSDP1ActivationCheckpointedConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("activation_checkpointing_modules") var modules: [String] = []
}

/// `model/compiled`'s fields, as Modalities main's `CompiledModelConfig` has them.
struct CompiledModelConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("block_names") var blockNames: [String]
    @Field("fullgraph") var fullGraph = true
    @Field("debug") var debug = false
}

struct ActivationCheckpointedConfig: Decodable {
    enum Variant: String, ConfigEnum {
        case full_activation_checkpointing, selective_layer_activation_checkpointing, selective_op_activation_checkpointing
    }

    var model: ComponentSlot<any Model>
    var variant: Variant
    var layersFQN: String
    var frequency: Int
    /// Selective op checkpointing's operators to keep (`ac_fun_params.save_ops_keys`).
    var policy: SelectiveCheckpointPolicy?

    enum CodingKeys: String, CodingKey { case model, variant = "ac_variant", layersFQN = "layers_fqn", parameters = "ac_fun_params" }
    enum ParameterKeys: String, CodingKey { case acFreq = "ac_freq", saveOpsKeys = "save_ops_keys" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ComponentSlot<any Model>.self, forKey: .model)
        variant = try c.decode(Variant.self, forKey: .variant)
        layersFQN = try c.decode(String.self, forKey: .layersFQN)
        let parameters = try c.nestedContainer(keyedBy: ParameterKeys.self, forKey: .parameters)
        switch variant {
        case .full_activation_checkpointing:
            frequency = 1
        case .selective_layer_activation_checkpointing:
            frequency = try parameters.decode(PositiveInt.self, forKey: .acFreq).value
        case .selective_op_activation_checkpointing:
            frequency = 1
            do {
                policy = try SelectiveCheckpointPolicy(keys: parameters.decode([String].self, forKey: .saveOpsKeys))
            } catch let error as ModelError {
                throw ConfigValueError(error.description)
            }
            let unmatched = policy!.operatorsNeverRun(on: .cpu)
            if !unmatched.isEmpty {
                decoder.warn(
                    "save_ops_keys: \(unmatched.map(\.rawValue).joined(separator: ", ")) match no operator GPT2LLM's blocks run on the CPU, so there they keep nothing (as in PyTorch)"
                )
            }
        }
        guard layersFQN == "transformer.h" else {
            throw ConfigValueError("layers_fqn must name GPT2LLM's blocks, transformer.h; found '\(layersFQN)'")
        }
    }
}

struct HuggingFacePretrainedConfig: DeclaredConfig {
    enum ModelType: String, ConfigEnum { case AutoModelForCausalLM, AutoModelForMaskedLM }

    @Field("model_type") var modelType: ModelType
    @Field("model_name") var modelName: String
    @Field("prediction_key") var predictionKey: String
    @Field("huggingface_prediction_subscription_key") var subscriptionKey: String
    @Field("sample_key") var sampleKey: String
    @Field("model_args") var modelArguments: [String: String]?
    @Field("kwargs") var keywordArguments: [String: String]?

    func validate() throws {
        guard modelType == .AutoModelForCausalLM else {
            throw ConfigValueError(
                "model_type AutoModelForMaskedLM is not available: only causal language models (GPT-2 and Llama folders) import")
        }
        guard subscriptionKey == "logits" else {
            throw ConfigValueError(
                "huggingface_prediction_subscription_key must be logits (the output causal language models give), found '\(subscriptionKey)'"
            )
        }
        guard modelArguments?.isEmpty ?? true, keywordArguments?.isEmpty ?? true else {
            throw ConfigValueError("model_args and kwargs are not supported: the folder's config.json describes the model")
        }
    }
}

struct ModelInitializedConfig: DeclaredConfig {
    @Field("model") var model: ComponentSlot<any Model>
    @Field("model_initializer") var modelInitializer: ComponentSlot<any ModelInitializer>
}

extension ComponentRegistry {
    /// GPT2LLM, its initialisation and the layer norms.
    func registerModels() {
        register(
            "model", "gpt2", summary: "Modalities' GPT2LLM (GPT-2 and Llama forms)",
            config: GPT2ModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            // On a GPU the model is made there directly ("created on its device"); deferral is for host memory.
            let device = context.run.device
            return try GPT2LLM(
                config: config.config, sampleKey: config.sampleKey, predictionKey: config.predictionKey,
                seed: UInt64(bitPattern: Int64(config.seed ?? 0)), device: device,
                deferAllocation: config.useMetaDevice && device == .cpu)
        }
        register(
            "model_initialization", "composed", summary: "plain / scaled / scaled_embed normal initialisation",
            config: ComposedInitializationConfig.self, produces: [(any ModelInitializer).self]
        ) { config, _ -> any ModelInitializer in
            config.initialization
        }
        register(
            "model_initialization", "gpt2_llama3_like",
            summary: "TorchTitan's Llama 3 initialisation (truncated normals, depth-scaled output projections)",
            config: Llama3InitializationConfig.self, produces: [(any ModelInitializer).self]
        ) { config, _ -> any ModelInitializer in
            try Llama3Initialization(
                layerCount: config.numLayers.value, embeddingSize: config.embeddingSize.value, depthInit: config.depthInit)
        }
        register(
            "model", "model_initialized", summary: "a model after its initializer ran (seeded by the model's seed)",
            config: ModelInitializedConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            let initializer = try context.build(config.modelInitializer)
            // A pipeline's parts each draw the whole model's parameters and keep their own.
            for part in (model as? PipelineModelParts)?.parts ?? [model] {
                if let sharded = part.unwrapped(as: FullyShardedModel.self) {
                    // Every rank draws each whole parameter from the same seed, one at a time, and keeps its chunk.
                    try sharded.initialize(with: initializer, seed: part.seed)
                } else {
                    // Split (tensor-parallel) parameters are drawn whole and sliced: the same weights in any layout.
                    try initializer.initialize(part, seed: part.seed)
                }
            }
            return model
        }
        register(
            "model", "compiled",
            summary:
                "Modalities' torch.compile of the blocks block_names lists, as libtorch can do it: on a GPU the trainer captures the whole step as one CUDA graph and replays it; on the CPU the step runs eagerly on the fused kernels",
            config: CompiledModelConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            try checkBlockNames(config.blockNames, of: model)
            return CompiledModel(wrapping: model, blockNames: config.blockNames, fullGraph: config.fullGraph, debug: config.debug)
        }
        register(
            "model", "activation_checkpointed",
            summary:
                "recomputes every block (full), every ac_freq-th block (selective_layer), or every block but the outputs of save_ops_keys' operators (selective_op) in backward",
            config: ActivationCheckpointedConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            if let coca = model.unwrapped(as: CoCa.self) {
                guard config.policy == nil else {
                    throw ConfigValueError("selective_op_activation_checkpointing applies to model/gpt2; model/coca recomputes whole blocks")
                }
                // Every ac_freq-th block, counted over the vision, text and multimodal blocks in that order.
                coca.checkpointedLayers = Set((0..<coca.blockCount).filter { ($0 + 1) % config.frequency == 0 })
                return model
            }
            let networks = try Self.networks(of: model)
            if let policy = config.policy, context.run.device.kind == .cuda, policy.savedOperators.contains(where: \.isAttention) {
                throw ConfigValueError(
                    "save_ops_keys: keeping the outputs of CUDA's attention kernels is not available yet (needs their backward called with the kept log-sum-exp); list ops.aten.mm.default only"
                )
            }
            for network in networks {
                // As Modalities counts wrapped blocks from 1: every ac_freq-th block of the model, the first being
                // block ac_freq - 1 (a pipeline stage's blocks keep their place in the whole model).
                network.checkpointedLayers = Set(network.layers.indices.filter { (network.layers[$0] + 1) % config.frequency == 0 })
                if let policy = config.policy { network.selectiveCheckpointPolicy = policy }
            }
            return model
        }
        register(
            "model", "activation_checkpointed_fsdp1",
            summary: "recomputes every block whose class is in activation_checkpointing_modules (GPT2Block) in backward",
            config: FSDP1ActivationCheckpointedConfig.self, produces: [(any Model).self]
        ) { config, context -> any Model in
            let model = try context.build(config.model)
            if let coca = model.unwrapped(as: CoCa.self) {
                let known = ["VisionTransformerBlock", "TransformerBlock"]
                let unknown = config.modules.filter { !known.contains($0) }
                guard unknown.isEmpty else {
                    throw ConfigValueError("activation_checkpointing_modules names \(unknown); model/coca's checkpointable modules are \(known)")
                }
                coca.checkpointedLayers = Set((0..<coca.blockCount).filter { config.modules.contains(coca.blockTypeName($0)) })
                return model
            }
            let networks = try Self.networks(of: model)
            let unknown = config.modules.filter { $0 != "GPT2Block" }
            guard unknown.isEmpty else {
                throw ConfigValueError(
                    "activation_checkpointing_modules names \(unknown); model/gpt2's checkpointable modules are GPT2Block")
            }
            for network in networks { network.checkpointedLayers = config.modules.isEmpty ? [] : Set(network.layers.indices) }
            return model
        }
        register(
            "model", "huggingface_pretrained_model", summary: "a local Hugging Face GPT-2 or Llama folder (config.json + safetensors)",
            config: HuggingFacePretrainedConfig.self, produces: [(any Model).self]
        ) { config, _ -> any Model in
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: config.modelName, isDirectory: &isFolder), isFolder.boolValue else {
                throw ConfigValueError(
                    "model_name '\(config.modelName)' is not a local folder; this build reads Hugging Face folders from disk and never downloads"
                        + (looksLikeHubID(config.modelName)
                            ? ": fetch it once (huggingface-cli download \(config.modelName) --local-dir <folder>) and set model_name to that folder" : "")
                )
            }
            do {
                return try HuggingFaceModelImport.load(
                    folder: config.modelName, sampleKey: config.sampleKey, predictionKey: config.predictionKey)
            } catch let error as InteropError {
                throw ConfigValueError(error.description)
            }
        }
        register(
            "layer_norm", "layer_norm", summary: "LayerNorm over the last dimension",
            config: LayerNormComponentConfig.self, produces: [Normalization.self]
        ) { config, _ in
            try Normalization(size: config.size, config: .init(kind: .layerNorm, epsilon: config.eps, bias: config.bias))
        }
        register(
            "layer_norm", "rms_norm", summary: "Modalities' RMSLayerNorm (optional bias, float32 inside)",
            config: RMSNormComponentConfig.self, produces: [Normalization.self]
        ) { config, _ in
            try Normalization(size: config.ndim, config: .init(kind: .rmsNorm, epsilon: config.epsilon, bias: config.bias))
        }
        register(
            "layer_norm", "pytorch_rms_norm", summary: "PyTorch's RMSNorm",
            config: PytorchRMSNormComponentConfig.self, produces: [Normalization.self]
        ) { config, _ in
            try Normalization(size: config.size, config: .init(kind: .pytorchRMSNorm, epsilon: config.eps, bias: false))
        }
    }
}

struct LayerNormComponentConfig: DeclaredConfig {
    @Field("normalized_shape") var normalizedShape: PositiveInt
    @Field("eps") var eps = 1e-5
    @Field("elementwise_affine") var elementwiseAffine = true
    @Field("bias") var bias = true

    var size: Int { normalizedShape.value }

    func validate() throws {
        guard elementwiseAffine else {
            throw ConfigValueError(
                "elementwise_affine: false (a layer norm without a learned scale) is not supported; leave it out or set it true")
        }
    }
}

struct RMSNormComponentConfig: DeclaredConfig {
    @Field("ndim") var dimension: PositiveInt
    @Field("epsilon") var epsilon = 1e-6
    @Field("bias") var bias = true

    var ndim: Int { dimension.value }
}

struct PytorchRMSNormComponentConfig: DeclaredConfig {
    @Field("normalized_shape") var normalizedShape: PositiveInt
    @Field("eps") var eps = 1e-5

    var size: Int { normalizedShape.value }
}

extension ComponentRegistry {
    /// The GPT2LLM inside `model`, or inside each of a pipeline's model parts, for settings that apply per block or
    /// module (`what` names them in the error for another model).
    static func networks(of model: any Model, for what: String = "activation checkpointing") throws -> [GPT2LLM] {
        let networks = ((model as? PipelineModelParts)?.parts ?? [model]).compactMap { $0.unwrapped(as: GPT2LLM.self) }
        guard !networks.isEmpty else {
            throw ConfigValueError("\(what) applies to model/gpt2 (directly, inside a wrapped model or in a pipeline's model parts)")
        }
        return networks
    }
}

extension ObjectGraph {
    /// The GPT2LLM shape a `model/gpt2` component's `config` block declares, decoded and checked as building it
    /// would (for tools that need the shape without the tensors, such as `modalities plan`); nil with the problems
    /// recorded in the graph when the block is invalid.
    public func gpt2Configuration(_ config: ConfigNode, keyPath: String) -> GPT2LLMConfig? {
        decode(GPT2ModelConfig.self, from: config, keyPath: keyPath)?.config
    }
}
