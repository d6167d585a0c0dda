import Config
import Testing

@Suite struct InterpolationTests {
    @Test func nodePathsKeepTheReferencedType() throws {
        let root = try resolveText(
            """
            settings:
              step_profile: {sequence_length: 256, sizes: [1, 2, 3]}
            model:
              length: ${settings.step_profile.sequence_length}
              second: ${settings.step_profile.sizes[1]}
              profile: ${settings.step_profile}
            """)
        #expect(root["model"]?["length"]?.scalarText == "256")
        #expect(root["model"]?["second"]?.scalarText == "2")
        #expect(root["model"]?["profile"]?["sizes"]?.elements?.count == 3)
    }

    @Test func interpolationsInsideTextJoinAsStrings() throws {
        let root = try resolveText(
            """
            a: {n: 3}
            name: "run-${a.n}-of-${a.n}"
            escaped: "\\\\${a.n}"
            """)
        #expect(root["name"]?.scalarText == "run-3-of-3")
        #expect(root["escaped"]?.scalarText == "${a.n}")
    }

    @Test func forwardAndChainedReferencesResolve() throws {
        let root = try resolveText(
            """
            first: ${second}
            second: ${third.value}
            third: {value: 42}
            """)
        #expect(root["first"]?.scalarText == "42")
    }

    @Test func interpolatedComponentSubtreesAreCopies() throws {
        let root = try resolveText(
            """
            template:
              component_key: test_model
              variant_key: linear
              config:
                in_features: ${sizes.in}
                out_features: 2
            sizes: {in: 8}
            copy: ${template}
            """)
        #expect(root["copy"]?["component_key"]?.scalarText == "test_model")
        #expect(root["copy"]?["config"]?["in_features"]?.scalarText == "8")
    }

    @Test func modalitiesEnvironmentResolvers() throws {
        let root = try resolveText(
            """
            file: ${modalities_env:config_file_path}
            folder: ${modalities_env:config_folder_path}
            root: ${modalities_env:experiments_root_path}
            id: ${modalities_env:experiment_id}
            cpus: ${node_env:num_cpus}
            """)
        #expect(root["file"]?.scalarText == "/configs/run.yaml")
        #expect(root["folder"]?.scalarText == "/configs")
        #expect(root["root"]?.scalarText == "/experiments")
        #expect(root["id"]?.scalarText == "exp-1")
        #expect(root["cpus"]?.scalarText == "16")
    }

    @Test func cudaEnvironmentDefaultsOutsideALauncher() throws {
        let yaml = "ranks: {local: '${cuda_env:LOCAL_RANK}', global: '${cuda_env:RANK}', size: '${cuda_env:WORLD_SIZE}'}"
        let alone = try resolveText(yaml)
        #expect(alone["ranks"]?["local"]?.scalarText == "0")
        #expect(alone["ranks"]?["global"]?.scalarText == "0")
        #expect(alone["ranks"]?["size"]?.scalarText == "1")
        let launched = try resolveText(yaml, variables: ["LOCAL_RANK": "1", "RANK": "3", "WORLD_SIZE": "4"])
        #expect(launched["ranks"]?["global"]?.scalarText == "3")
        #expect(launched["ranks"]?["size"]?.scalarText == "4")
    }

    @Test func environmentVariablesWithDefaultsAndDecoding() throws {
        let root = try resolveText(
            """
            user: ${oc.env:TEST_USER,nobody}
            set: ${env:TEST_SET}
            workers: ${oc.decode:${oc.env:WORKERS,12}}
            list: ${oc.decode:'[1, 2]'}
            nothing: ${oc.env:MISSING,null}
            """, variables: ["TEST_SET": "yes", "WORKERS": "7"])
        #expect(root["user"]?.scalarText == "nobody")
        #expect(root["set"]?.scalarText == "yes")
        #expect(root["workers"]?.scalarText == "7")
        #expect(root["list"]?.elements?.count == 2)
        #expect(root["nothing"]?.isNull == true)
    }

    @Test func warmstartCheckpointPathsYieldAMappingToStepInto() throws {
        let yaml = """
            settings:
              warmstart_checkpoint_paths: ${warmstart_env:checkpoint_paths}
            loader:
              folder: ${settings.warmstart_checkpoint_paths.checkpoint_folder_path}
            """
        let root = try resolveText(yaml, warmstart: [("checkpoint_folder_path", "/ckpt/seen_steps_10")])
        #expect(root["loader"]?["folder"]?.scalarText == "/ckpt/seen_steps_10")
        let error = #expect(throws: ConfigError.self) { try resolveText(yaml) }
        #expect(error?.issues.first?.message.contains("only available under warmstart") == true)
    }

    @Test func problemsAreReportedTogetherWithLocations() throws {
        let error = #expect(throws: ConfigError.self) {
            try resolveText(
                """
                a: ${missing.key}
                b: ${oc.nope:X}
                c: ${d}
                d: ${c}
                """)
        }
        let issues = error?.issues ?? []
        #expect(issues.count == 3)
        #expect(issues.contains { $0.location.line == 1 && $0.message.contains("does not exist") })
        #expect(issues.contains { $0.location.line == 2 && $0.message.contains("unknown resolver 'oc.nope'") })
        #expect(issues.contains { $0.message.contains("interpolation cycle") })
    }
}
