using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scale.Testing;
using Xunit.Abstractions;

namespace Scale.Deploy.Tests;

/// <summary>
/// deploy/terraform without an AWS account or the Terraform registry: every file parsed by HashiCorp's HCL parser and
/// checked on its structure (documented variables and outputs, the deploy scripts' contract names, pinned registry
/// modules, zones, per-zone node groups, a private encrypted TLS-only bucket, a least-privilege IRSA role, no secrets).
/// Where the terraform binary is installed it also checks the formatting, evaluates the variables' validations, and
/// computes the subnet layout; without it those three are reported as skipped.
/// </summary>
public sealed partial class TerraformTests(TerraformConfig config, ITestOutputHelper output) : IClassFixture<TerraformConfig>
{
    private const string CorpusBucketArn = "${aws_s3_bucket.corpus.arn}";
    private const string CorpusObjectsArn = "${aws_s3_bucket.corpus.arn}/*";

    [Fact]
    public void Variables_EachHasADescriptionAndAType_AndTheContractVariablesKeepTheirNamesAndDefaults()
    {
        var variables = config.Named("variable");
        Assert.True(variables.Count >= 10, $"only {variables.Count} variables in deploy/terraform");
        Assert.All(variables, variable =>
        {
            Assert.False(string.IsNullOrWhiteSpace(Text(variable.Value, "description")), $"variable \"{variable.Key}\" has no description");
            Assert.Matches(TypeConstraint(), Text(variable.Value, "type") ?? $"variable \"{variable.Key}\" has no type");
        });

        // Names and defaults the deploy scripts rely on.
        Assert.Equal("eu-west-1", Default("region").GetString());
        Assert.Equal("scale", Default("name").GetString());
        Assert.Equal(JsonValueKind.False, Default("force_destroy_bucket").ValueKind);
        Assert.Equal("scale", Default("namespace").GetString());
        Assert.Equal("scale-batch", Default("batch_service_account").GetString());
        Assert.Equal(JsonValueKind.Null, Default("corpus_bucket_name").ValueKind);
        Assert.Equal("${map(string)}", Text(config.Variable("tags"), "type"));
        var kubernetes = Version.Parse(Default("kubernetes_version").GetString()!);
        Assert.True(kubernetes >= new Version(1, 33), $"kubernetes_version {kubernetes} is no longer a current EKS version");
        Assert.Equal(["m7i.large"], Default("node_instance_types").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public void ImageRepository_HasImmutableTags_ScansOnPush_AndIsEncrypted()
    {
        var repository = config.Resource("aws_ecr_repository", "scale");
        Assert.Equal("${var.name}", Text(repository, "name"));
        Assert.Equal("IMMUTABLE", Text(repository, "image_tag_mutability"));
        Assert.Equal(JsonValueKind.True, repository.GetProperty("image_scanning_configuration")[0].GetProperty("scan_on_push").ValueKind);
        Assert.Equal("AES256", Text(repository.GetProperty("encryption_configuration")[0], "encryption_type"));
        Assert.Equal("${aws_ecr_repository.scale.name}", Text(config.Resource("aws_ecr_lifecycle_policy", "scale"), "repository"));
    }

    [Fact]
    public async Task Outputs_EachHasADescription_AndTheContractOutputsExist()
    {
        var outputs = config.Named("output");
        Assert.All(outputs, o => Assert.False(string.IsNullOrWhiteSpace(Text(o.Value, "description")), $"output \"{o.Key}\" has no description"));
        Assert.Equal("${var.region}", Value("region"));
        Assert.Equal("${module.eks.cluster_name}", Value("cluster_name"));
        Assert.Equal("${module.eks.cluster_endpoint}", Value("cluster_endpoint"));
        Assert.Equal("${local.azs}", Value("availability_zones"));
        Assert.Equal("${aws_s3_bucket.corpus.id}", Value("corpus_bucket"));
        Assert.Equal("aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}", Value("kubeconfig_command"));
        Assert.Equal("${aws_ecr_repository.scale.repository_url}", Value("image_repository"));
        var role = await BatchRoleAsync();
        Assert.Equal($"${{aws_iam_role.{role}.arn}}", Value("batch_role_arn"));

        string? Value(string name) => Text(config.Output(name), "value");
    }

    [Fact]
    public void Modules_AreTerraformAwsModulesFromTheRegistry_PinnedToExactVersions_AndTheAwsProviderMajorIsPinned()
    {
        var modules = config.Named("module");
        Assert.True(modules.Count >= 2, "expected the vpc and eks modules");
        Assert.All(modules, module =>
        {
            Assert.Matches(RegistryModule(), Text(module.Value, "source") ?? $"module \"{module.Key}\" has no source");
            Assert.Matches(ExactVersion(), Text(module.Value, "version") ?? $"module \"{module.Key}\" has no version");
        });

        // The arguments passed were checked against these majors (vpc 6.x, eks 21.x): a major bump needs that again.
        Assert.Equal("terraform-aws-modules/vpc/aws", Text(config.Module("vpc"), "source"));
        Assert.StartsWith("6.", Text(config.Module("vpc"), "version"), StringComparison.Ordinal);
        Assert.Equal("terraform-aws-modules/eks/aws", Text(config.Module("eks"), "source"));
        Assert.StartsWith("21.", Text(config.Module("eks"), "version"), StringComparison.Ordinal);

        var terraform = Assert.Single(config.TerraformBlocks);
        var required = RequiredVersion().Match(Text(terraform, "required_version") ?? "");
        Assert.True(required.Success, "required_version must be a >= constraint");
        Assert.True(new Version(int.Parse(required.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(required.Groups[2].Value, CultureInfo.InvariantCulture)) >= new Version(1, 6));
        var aws = Only(terraform.GetProperty("required_providers")).GetProperty("aws");
        Assert.Equal("hashicorp/aws", Text(aws, "source"));
        Assert.Matches(PinnedMajorSix(), Text(aws, "version") ?? "no aws provider version");
        Assert.Equal("${var.region}", Text(Only(config.Named("provider")["aws"]), "region"));

        // Local state unless someone opts into the backend example.
        Assert.All(config.TerraformBlocks, block => Assert.False(block.TryGetProperty("backend", out _), "a backend in a .tf file: state must be local by default"));
    }

    [Fact]
    public async Task AvailabilityZones_DefaultToThree_TheValidationForbidsFewerThanTwo_AndTheFirstNAvailableAreUsed()
    {
        var count = config.Variable("availability_zone_count");
        Assert.Equal("${number}", Text(count, "type"));
        Assert.Equal(3, count.GetProperty("default").GetInt32());

        // Every conjunct of a validation must hold, so one conjunct "var.availability_zone_count >= 2" forbids < 2.
        var conjuncts = new List<JsonElement>();
        foreach (var validation in count.GetProperty("validation").EnumerateArray())
        {
            Conjuncts(await Hcl2Json.ExpressionAsync(Text(validation, "condition")!), conjuncts);
        }

        Assert.Contains(conjuncts, c => Meta(c, "operator") == "greaterThanOrEqual" && Meta(c, "lhsExpression") == "var.availability_zone_count" && Meta(c, "rhsExpression") == "2");

        // The zones: the region's available ones, the first N, and a plan-time check that there are N.
        var zones = config.Data("aws_availability_zones", "available");
        Assert.Equal("available", Text(zones, "state"));
        var postcondition = Only(Only(zones.GetProperty("lifecycle")).GetProperty("postcondition"));
        Assert.Equal(["self.names", "var.availability_zone_count"], (await Hcl2Json.ReferencesAsync(Text(postcondition, "condition")!)).Order(StringComparer.Ordinal));
        Assert.Equal(["data.aws_availability_zones.available.names", "var.availability_zone_count"],
            (await Hcl2Json.ReferencesAsync(config.Locals["azs"].GetString()!)).Order(StringComparer.Ordinal));
        var azs = await Hcl2Json.ExpressionAsync(config.Locals["azs"].GetString()!);
        Assert.Equal("slice", Meta(azs, "name"));
    }

    [Fact]
    public async Task Vpc_SpansTheZones_WithPrivateAndPublicSubnetsInEach_ANatGatewayPerZone_AndLoadBalancerSubnetTags()
    {
        var vpc = config.Module("vpc");
        Assert.Equal("${local.azs}", Text(vpc, "azs"));
        Assert.Equal("${var.vpc_cidr}", Text(vpc, "cidr"));
        foreach (var (argument, local) in new[] { ("private_subnets", "private_subnet_cidrs"), ("public_subnets", "public_subnet_cidrs") })
        {
            Assert.Equal($"${{local.{local}}}", Text(vpc, argument));
            var perZone = await Hcl2Json.ExpressionAsync(config.Locals[local].GetString()!);
            Assert.Equal("for", perZone.GetProperty("type").GetString());
            Assert.Equal("local.azs", Meta(perZone, "collectionExpression"));
        }

        // One NAT gateway per zone unless single_nat_gateway, which is off by default.
        Assert.Equal(JsonValueKind.True, vpc.GetProperty("enable_nat_gateway").ValueKind);
        Assert.Equal("${var.single_nat_gateway}", Text(vpc, "single_nat_gateway"));
        Assert.Equal("${!var.single_nat_gateway}", Text(vpc, "one_nat_gateway_per_az"));
        Assert.Equal(JsonValueKind.False, Default("single_nat_gateway").ValueKind);

        Assert.Equal(1, vpc.GetProperty("public_subnet_tags").GetProperty("kubernetes.io/role/elb").GetInt32());
        Assert.Equal(1, vpc.GetProperty("private_subnet_tags").GetProperty("kubernetes.io/role/internal-elb").GetInt32());
    }

    [Fact]
    public async Task Eks_RunsInThePrivateSubnets_WithAPublicEndpoint_CreatorAdmin_Irsa_AndTheCoreAddons()
    {
        var eks = config.Module("eks");
        Assert.Equal("${var.name}", Text(eks, "name"));
        Assert.Equal("${var.kubernetes_version}", Text(eks, "kubernetes_version"));
        Assert.Equal("${module.vpc.vpc_id}", Text(eks, "vpc_id"));
        Assert.Equal("${module.vpc.private_subnets}", Text(eks, "subnet_ids"));
        Assert.Equal(JsonValueKind.True, eks.GetProperty("endpoint_public_access").ValueKind);
        Assert.Equal("${var.cluster_endpoint_public_access_cidrs}", Text(eks, "endpoint_public_access_cidrs"));
        Assert.Equal(JsonValueKind.True, eks.GetProperty("enable_cluster_creator_admin_permissions").ValueKind);
        Assert.Equal(JsonValueKind.True, eks.GetProperty("enable_irsa").ValueKind);

        var addons = eks.GetProperty("addons");
        Assert.Superset(new HashSet<string>(["vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "snapshot-controller"], StringComparer.Ordinal),
            addons.EnumerateObject().Select(a => a.Name).ToHashSet(StringComparer.Ordinal));
        // Nodes need the CNI to become Ready: it is created before them.
        Assert.Equal(JsonValueKind.True, addons.GetProperty("vpc-cni").GetProperty("before_compute").ValueKind);
        // The manifests' NetworkPolicies are only enforced when the CNI's policy agent is on.
        Assert.Equal("${jsonencode({ enableNetworkPolicy = \"true\" })}", Text(addons.GetProperty("vpc-cni"), "configuration_values"));

        // The EBS CSI driver has its own IRSA role with the AWS managed driver policy.
        var ebsRole = await ReferencedAsync(Text(addons.GetProperty("aws-ebs-csi-driver"), "service_account_role_arn")!, "aws_iam_role", "arn");
        var trust = Assert.Single(await PolicyStatementsAsync(Text(config.Resource("aws_iam_role", ebsRole), "assume_role_policy")!));
        Assert.Equal(["system:serviceaccount:kube-system:ebs-csi-controller-sa"], ConditionValues(trust, "${module.eks.oidc_provider}:sub"));
        Assert.Equal(["sts.amazonaws.com"], ConditionValues(trust, "${module.eks.oidc_provider}:aud"));
        Assert.Contains(config.Typed("resource").Where(r => r.Key.StartsWith("aws_iam_role_policy_attachment.", StringComparison.Ordinal)),
            a => Text(a.Value, "role") == $"${{aws_iam_role.{ebsRole}.name}}" && (Text(a.Value, "policy_arn") ?? "").EndsWith(":policy/service-role/AmazonEBSCSIDriverPolicy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NodeGroups_OnePerZone_EachPinnedToItsZonesPrivateSubnet_LabelledWithTheZone()
    {
        var groups = await Hcl2Json.ExpressionAsync(Text(config.Module("eks"), "eks_managed_node_groups")!);
        Assert.Equal("for", groups.GetProperty("type").GetString());
        Assert.Equal("local.azs", Meta(groups, "collectionExpression"));
        var index = Meta(groups, "keyVar");
        var zone = Meta(groups, "valVar");
        Assert.False(string.IsNullOrEmpty(index), "the for expression must bind the zone's index, to pick its subnet");
        // A map keyed by zone name: one node group per zone.
        Assert.Equal(zone, Meta(groups, "keyExpression"));

        var group = (await Hcl2Json.ParseTextAsync("group = " + Meta(groups, "valueExpression") + "\n")).GetProperty("group");
        Assert.Equal([$"${{module.vpc.private_subnets[{index}]}}"], group.GetProperty("subnet_ids").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains(group.GetProperty("labels").EnumerateObject(), label => label.Value.GetString() == $"${{{zone}}}");
        Assert.Equal("${var.node_instance_types}", Text(group, "instance_types"));
        Assert.Equal("${var.node_min_size_per_zone}", Text(group, "min_size"));
        Assert.Equal("${var.node_desired_size_per_zone}", Text(group, "desired_size"));
        Assert.Equal("${var.node_max_size_per_zone}", Text(group, "max_size"));
        Assert.Equal(1, Default("node_min_size_per_zone").GetInt32());
        Assert.Equal(1, Default("node_desired_size_per_zone").GetInt32());
        Assert.Equal(3, Default("node_max_size_per_zone").GetInt32());
    }

    [Fact]
    public async Task CorpusBucket_BlocksAllPublicAccess_IsEncrypted_OwnerEnforced_AndDeniesInsecureTransport()
    {
        var bucket = config.Resource("aws_s3_bucket", "corpus");
        Assert.Equal("${var.force_destroy_bucket}", Text(bucket, "force_destroy"));
        Assert.Equal("${local.corpus_bucket_name}", Text(bucket, "bucket"));
        Assert.Equal(["data.aws_caller_identity.current.account_id", "var.corpus_bucket_name", "var.name"],
            (await Hcl2Json.ReferencesAsync(config.Locals["corpus_bucket_name"].GetString()!)).Order(StringComparer.Ordinal));

        var block = OnCorpus("aws_s3_bucket_public_access_block");
        foreach (var flag in new[] { "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets" })
        {
            Assert.True(block.GetProperty(flag).ValueKind == JsonValueKind.True, $"{flag} is not true");
        }

        var encryption = Only(Only(OnCorpus("aws_s3_bucket_server_side_encryption_configuration").GetProperty("rule")).GetProperty("apply_server_side_encryption_by_default"));
        Assert.Contains(Text(encryption, "sse_algorithm") ?? "no sse_algorithm", new[] { "AES256", "aws:kms", "aws:kms:dsse" });
        Assert.Equal("BucketOwnerEnforced", Text(Only(OnCorpus("aws_s3_bucket_ownership_controls").GetProperty("rule")), "object_ownership"));

        var statements = await PolicyStatementsAsync(Text(OnCorpus("aws_s3_bucket_policy"), "policy")!);
        Assert.Contains(statements, s =>
            Text(s, "effect") == "Deny"
            && Strings(s, "actions").Contains("s3:*")
            && Strings(s, "resources").ToHashSet().SetEquals([CorpusBucketArn, CorpusObjectsArn])
            && s.GetProperty("principals").EnumerateArray().Any(p => Text(p, "type") == "*" && Strings(p, "identifiers").SequenceEqual(["*"]))
            && s.GetProperty("condition").EnumerateArray().Any(c => Text(c, "test") == "Bool" && Text(c, "variable") == "aws:SecureTransport" && Strings(c, "values").SequenceEqual(["false"])));

        JsonElement OnCorpus(string type)
        {
            var resource = Assert.Single(config.Typed("resource"), r => r.Key.StartsWith(type + ".", StringComparison.Ordinal)).Value;
            Assert.Equal("${aws_s3_bucket.corpus.id}", Text(resource, "bucket"));
            return resource;
        }
    }

    [Fact]
    public async Task BatchRole_IsAssumableOnlyByTheBatchServiceAccount_WithTheStsAudience()
    {
        var role = config.Resource("aws_iam_role", await BatchRoleAsync());
        var statement = Assert.Single(await PolicyStatementsAsync(Text(role, "assume_role_policy")!));
        Assert.Equal("Allow", Text(statement, "effect") ?? "Allow");
        Assert.Equal(["sts:AssumeRoleWithWebIdentity"], Strings(statement, "actions"));
        var principal = Only(statement.GetProperty("principals"));
        Assert.Equal("Federated", Text(principal, "type"));
        Assert.Equal(["${module.eks.oidc_provider_arn}"], Strings(principal, "identifiers"));
        Assert.Equal(2, statement.GetProperty("condition").GetArrayLength());
        Assert.Equal(["system:serviceaccount:${var.namespace}:${var.batch_service_account}"], ConditionValues(statement, "${module.eks.oidc_provider}:sub"));
        Assert.Equal(["sts.amazonaws.com"], ConditionValues(statement, "${module.eks.oidc_provider}:aud"));
    }

    [Fact]
    public async Task BatchRole_MayOnlyListTheCorpusBucketAndGetItsObjects()
    {
        var name = await BatchRoleAsync();
        var role = config.Resource("aws_iam_role", name);
        Assert.False(role.TryGetProperty("inline_policy", out _), "the batch role declares an inline_policy block");
        Assert.False(role.TryGetProperty("managed_policy_arns", out _), "the batch role declares managed_policy_arns");
        var resources = config.Typed("resource");
        string[] references = [$"${{aws_iam_role.{name}.id}}", $"${{aws_iam_role.{name}.name}}", $"${{aws_iam_role.{name}.arn}}"];
        Assert.DoesNotContain(resources, r =>
            r.Key.Split('.')[0] is "aws_iam_role_policy_attachment" or "aws_iam_policy_attachment" or "aws_iam_role_policy_attachments_exclusive"
            && (references.Contains(Text(r.Value, "role") ?? "") || (r.Value.TryGetProperty("roles", out var roles) && roles.ToString().Contains($"aws_iam_role.{name}.", StringComparison.Ordinal))));

        var policies = resources.Where(r => r.Key.StartsWith("aws_iam_role_policy.", StringComparison.Ordinal) && references.Contains(Text(r.Value, "role") ?? "")).ToArray();
        Assert.NotEmpty(policies);
        var statements = new List<JsonElement>();
        foreach (var policy in policies)
        {
            statements.AddRange(await PolicyStatementsAsync(Text(policy.Value, "policy")!));
        }

        Assert.All(statements, s =>
        {
            Assert.Equal("Allow", Text(s, "effect") ?? "Allow");
            foreach (var negated in new[] { "not_actions", "not_resources", "not_principals" })
            {
                Assert.False(s.TryGetProperty(negated, out _), $"a statement uses {negated}");
            }

            var actions = Strings(s, "actions");
            Assert.NotEmpty(actions);
            Assert.All(actions, a => Assert.Contains(a, new[] { "s3:GetObject", "s3:ListBucket" }));
            // ListBucket applies to the bucket, GetObject to its objects: each on exactly that ARN.
            string[] expected = actions.Distinct().Count() == 1
                ? [actions[0] == "s3:ListBucket" ? CorpusBucketArn : CorpusObjectsArn]
                : [CorpusBucketArn, CorpusObjectsArn];
            Assert.Equal(expected, Strings(s, "resources").Order(StringComparer.Ordinal));
        });
        Assert.Equal(["s3:GetObject", "s3:ListBucket"], statements.SelectMany(s => Strings(s, "actions")).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NoSecretLookingLiterals_AnywhereInTheFolder()
    {
        Assert.True(config.Files.Count >= 5, $"only {config.Files.Count} .tf files in deploy/terraform");
        var findings = new List<string>();
        foreach (var (file, parsed) in config.Files.Concat(config.Examples))
        {
            Walk(file, parsed, findings);
        }

        var texts = Directory.GetFiles(TerraformConfig.Folder)
            .Where(f => !f.EndsWith(".tfstate", StringComparison.Ordinal) && !f.EndsWith(".tfstate.backup", StringComparison.Ordinal))
            .ToArray();
        Assert.Contains(texts, f => f.EndsWith("README.md", StringComparison.Ordinal));
        foreach (var file in texts)
        {
            var text = File.ReadAllText(file);
            findings.AddRange(SecretText().Matches(text).Select(m => $"{Path.GetFileName(file)}: {m.Value}"));
        }

        Assert.Empty(findings);
    }

    [Fact]
    public void Examples_TheTfvarsSetOnlyDeclaredVariables_AndTheBackendIsS3WithLocking()
    {
        var variables = config.Named("variable");
        var tfvars = config.Examples[TerraformConfig.TfvarsExample].EnumerateObject().Select(p => p.Name).ToArray();
        Assert.True(tfvars.Length >= 5);
        Assert.All(tfvars, name => Assert.True(variables.ContainsKey(name), $"{TerraformConfig.TfvarsExample} sets undeclared variable \"{name}\""));

        var backend = Only(Only(config.Examples[TerraformConfig.BackendExample].GetProperty("terraform")).GetProperty("backend").GetProperty("s3"));
        foreach (var argument in new[] { "bucket", "key", "region" })
        {
            Assert.False(string.IsNullOrEmpty(Text(backend, argument)), $"the backend example has no {argument}");
        }

        Assert.Equal(JsonValueKind.True, backend.GetProperty("encrypt").ValueKind);
        Assert.True((backend.TryGetProperty("use_lockfile", out var lockfile) && lockfile.ValueKind == JsonValueKind.True) || backend.TryGetProperty("dynamodb_table", out _),
            "the backend example does not lock the state");
    }

    [Fact]
    public void TestsRun_InstallsTheSameHcl2JsonVersionAsTheTests()
    {
        var run = File.ReadAllText(Path.Join(Checkout.Root, "tests", "run"));
        Assert.Contains($"@cdktf/hcl2json@{Hcl2Json.Version}", run, StringComparison.Ordinal);
    }

    [TerraformFact]
    public async Task Format_IsWhatTerraformFmtWrites()
    {
        using var copy = new TempFolder("scale-tf-fmt-");
        foreach (var file in Directory.GetFiles(TerraformConfig.Folder).Where(f => f.EndsWith(".tf", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Join(copy.Path, Path.GetFileName(file)));
        }

        // fmt reads only .tf and .tfvars: the examples are checked under those names.
        File.Copy(Path.Join(TerraformConfig.Folder, TerraformConfig.TfvarsExample), Path.Join(copy.Path, "example.tfvars"));
        File.Copy(Path.Join(TerraformConfig.Folder, TerraformConfig.BackendExample), Path.Join(copy.Path, "backend_example.tf"));
        var fmt = await Terraform(copy.Path, "fmt", "-check", "-recursive", "-diff", "-no-color");
        Assert.True(fmt.ExitCode == 0, $"terraform fmt -recursive deploy/terraform would change:\n{fmt.Output}");
    }

    [TerraformFact]
    public async Task Validations_RejectBadValues_AndAcceptTheDefaults()
    {
        using var folder = new TempFolder("scale-tf-validate-");
        File.Copy(Path.Join(TerraformConfig.Folder, "variables.tf"), Path.Join(folder.Path, "variables.tf"));
        var init = await Terraform(folder.Path, "init", "-input=false", "-no-color");
        Assert.True(init.ExitCode == 0, init.Output);

        foreach (var good in new[] { "availability_zone_count=2", "availability_zone_count=6", "vpc_cidr=10.20.0.0/19", "name=scale-staging" })
        {
            var plan = await Plan(good);
            Assert.True(plan.ExitCode == 0, $"{good} was rejected:\n{plan.Output}");
        }

        foreach (var bad in new[]
                 {
                     "availability_zone_count=1", "availability_zone_count=0", "availability_zone_count=7", "availability_zone_count=2.5",
                     "name=a-name-much-too-long-for-iam", "vpc_cidr=10.0.0.0/24", "vpc_cidr=not-a-cidr", "namespace=Not_A_Label",
                     "corpus_bucket_name=Not_A_Bucket", "cluster_endpoint_public_access_cidrs=[]", "node_instance_types=[]",
                 })
        {
            var plan = await Plan(bad);
            Assert.True(plan.ExitCode != 0, $"{bad} was accepted");
            Assert.Contains("Invalid value for variable", plan.Output, StringComparison.Ordinal);
            Assert.Contains($"var.{bad.Split('=')[0]}", plan.Output, StringComparison.Ordinal);
        }

        var defaults = await Plan();
        Assert.True(defaults.ExitCode == 0, defaults.Output);
        output.WriteLine("terraform evaluated the validations of variables.tf: defaults and 4 good values accepted, 11 bad values rejected");

        Task<ToolResult> Plan(params string[] assignments) =>
            Terraform(folder.Path, ["plan", "-input=false", "-no-color", "-lock=false", .. assignments.SelectMany(a => new[] { "-var", a })]);
    }

    [TerraformFact]
    public async Task SubnetLayout_ForTwoToSixZones_GivesDisjointPrivateAndPublicSubnetsInsideTheVpc()
    {
        // main.tf's own expressions, with the zone list from a variable instead of the AWS data source.
        var azs = config.Locals["azs"].GetString()!;
        Assert.Contains("data.aws_availability_zones.available.names", azs, StringComparison.Ordinal);
        var locals = $$"""
            variable "test_zone_names" {
              type = list(string)
            }

            locals {
              azs                  = {{Hcl2Json.Unwrap(azs).Replace("data.aws_availability_zones.available.names", "var.test_zone_names", StringComparison.Ordinal)}}
              private_subnet_cidrs = {{Hcl2Json.Unwrap(config.Locals["private_subnet_cidrs"].GetString()!)}}
              public_subnet_cidrs  = {{Hcl2Json.Unwrap(config.Locals["public_subnet_cidrs"].GetString()!)}}
            }

            output "layout" {
              value = { azs = local.azs, private = local.private_subnet_cidrs, public = local.public_subnet_cidrs }
            }
            """;
        string[] zones = ["eu-west-1f", "eu-west-1a", "eu-west-1e", "eu-west-1b", "eu-west-1d", "eu-west-1c", "eu-west-1g"];
        foreach (var vpcCidr in new[] { "10.0.0.0/16", "172.31.96.0/19" })
        {
            for (var count = 2; count <= 6; count++)
            {
                using var folder = new TempFolder("scale-tf-subnets-");
                File.Copy(Path.Join(TerraformConfig.Folder, "variables.tf"), Path.Join(folder.Path, "variables.tf"));
                await File.WriteAllTextAsync(Path.Join(folder.Path, "layout.tf"), locals);
                var init = await Terraform(folder.Path, "init", "-input=false", "-no-color");
                Assert.True(init.ExitCode == 0, init.Output);
                var apply = await Terraform(folder.Path, "apply", "-auto-approve", "-input=false", "-no-color", "-lock=false",
                    "-var", $"availability_zone_count={count}", "-var", $"vpc_cidr={vpcCidr}", "-var", $"test_zone_names={JsonSerializer.Serialize(zones)}");
                Assert.True(apply.ExitCode == 0, apply.Output);
                var result = await Terraform(folder.Path, "output", "-json", "layout");
                Assert.True(result.ExitCode == 0, result.Output);
                using var layout = JsonDocument.Parse(result.Stdout);

                var chosen = layout.RootElement.GetProperty("azs").EnumerateArray().Select(z => z.GetString()!).ToArray();
                Assert.Equal(zones.Order(StringComparer.Ordinal).Take(count), chosen);
                var vpc = IPNetwork.Parse(vpcCidr);
                var subnets = layout.RootElement.GetProperty("private").EnumerateArray().Concat(layout.RootElement.GetProperty("public").EnumerateArray())
                    .Select(s => IPNetwork.Parse(s.GetString()!)).ToArray();
                Assert.Equal(2 * count, subnets.Length);
                Assert.All(subnets, s => Assert.True(vpc.Contains(s.BaseAddress) && s.PrefixLength >= vpc.PrefixLength, $"{s} is outside {vpc}"));
                for (var i = 0; i < subnets.Length; i++)
                {
                    for (var j = i + 1; j < subnets.Length; j++)
                    {
                        Assert.False(subnets[i].Contains(subnets[j].BaseAddress) || subnets[j].Contains(subnets[i].BaseAddress), $"{subnets[i]} overlaps {subnets[j]}");
                    }
                }

                Assert.All(subnets.Take(count), s => Assert.Equal(vpc.PrefixLength + 3, s.PrefixLength));
            }
        }

        output.WriteLine("terraform computed main.tf's subnet layout for 2-6 zones in a /16 and a /19 VPC: disjoint, inside the VPC");
    }

    private static Task<ToolResult> Terraform(string folder, params string[] arguments) =>
        Tools.RunAsync(TerraformBinary.Path!, arguments, TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["TF_IN_AUTOMATION"] = "1", ["CHECKPOINT_DISABLE"] = "1", ["TF_CLI_CONFIG_FILE"] = "/dev/null" }, folder);

    /// <summary>The aws_iam_role that output batch_role_arn names.</summary>
    private Task<string> BatchRoleAsync() => ReferencedAsync(Text(config.Output("batch_role_arn"), "value")!, "aws_iam_role", "arn");

    /// <summary>The name of the TYPE block an expression refers to by TYPE.NAME.ATTRIBUTE (the only reference it makes).</summary>
    private static async Task<string> ReferencedAsync(string expression, string type, string attribute)
    {
        var reference = Assert.Single(await Hcl2Json.ReferencesAsync(expression)).Split('.');
        Assert.True(reference.Length == 3 && reference[0] == type && reference[2] == attribute, $"{expression} is not a {type}'s {attribute}");
        return reference[1];
    }

    /// <summary>The statements of the aws_iam_policy_document an expression takes the JSON of.</summary>
    private async Task<IReadOnlyList<JsonElement>> PolicyStatementsAsync(string expression)
    {
        var reference = Assert.Single(await Hcl2Json.ReferencesAsync(expression)).Split('.');
        Assert.True(reference.Length == 4 && reference[0] == "data" && reference[1] == "aws_iam_policy_document" && reference[3] == "json",
            $"{expression} is not the JSON of an aws_iam_policy_document (a policy written as a literal string cannot be checked here)");
        var document = config.Data("aws_iam_policy_document", reference[2]);
        foreach (var merged in new[] { "source_policy_documents", "override_policy_documents", "source_json", "override_json" })
        {
            Assert.False(document.TryGetProperty(merged, out _), $"policy document {reference[2]} merges other documents ({merged})");
        }

        return [.. document.GetProperty("statement").EnumerateArray()];
    }

    private static string[] ConditionValues(JsonElement statement, string variable)
    {
        var condition = Assert.Single(statement.GetProperty("condition").EnumerateArray(), c => Text(c, "variable") == variable);
        Assert.Equal("StringEquals", Text(condition, "test"));
        return Strings(condition, "values");
    }

    private JsonElement Default(string variable) =>
        config.Variable(variable).TryGetProperty("default", out var value) ? value : throw new Xunit.Sdk.XunitException($"variable \"{variable}\" has no default");

    private static string? Text(JsonElement body, string attribute) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(attribute, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string[] Strings(JsonElement body, string attribute) =>
        body.TryGetProperty(attribute, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Select(v => v.GetString() ?? "")]
            : [];

    private static JsonElement Only(JsonElement list) => list.ValueKind == JsonValueKind.Array ? Assert.Single(list.EnumerateArray()) : list;

    private static string? Meta(JsonElement node, string name) =>
        node.TryGetProperty("meta", out var meta) && meta.TryGetProperty(name, out var value) ? value.ToString() : null;

    private static void Conjuncts(JsonElement node, List<JsonElement> into)
    {
        if (node.GetProperty("type").GetString() == "binaryOp" && Meta(node, "operator") == "logicalAnd")
        {
            foreach (var child in node.GetProperty("children").EnumerateArray())
            {
                Conjuncts(child, into);
            }
        }
        else
        {
            into.Add(node);
        }
    }

    private static void Walk(string path, JsonElement node, List<string> findings)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in node.EnumerateObject())
                {
                    if (SecretName().IsMatch(property.Name) && property.Value.ValueKind == JsonValueKind.String && !property.Value.GetString()!.StartsWith("${", StringComparison.Ordinal))
                    {
                        findings.Add($"{path}.{property.Name} is a literal");
                    }

                    Walk($"{path}.{property.Name}", property.Value, findings);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in node.EnumerateArray())
                {
                    Walk($"{path}[{index++}]", item, findings);
                }

                break;
            case JsonValueKind.String when SecretText().IsMatch(node.GetString()!):
                findings.Add($"{path}: {node.GetString()}");
                break;
        }
    }

    [GeneratedRegex(@"^\$\{.+\}$", RegexOptions.Singleline)]
    private static partial Regex TypeConstraint();

    [GeneratedRegex(@"^terraform-aws-modules/[a-z0-9-]+/aws(//modules/[a-z0-9_-]+)?$")]
    private static partial Regex RegistryModule();

    [GeneratedRegex(@"^\d+\.\d+\.\d+$")]
    private static partial Regex ExactVersion();

    [GeneratedRegex(@"^>=\s*(\d+)\.(\d+)(\.\d+)?$")]
    private static partial Regex RequiredVersion();

    [GeneratedRegex(@"^~>\s*6\.\d+(\.\d+)?$")]
    private static partial Regex PinnedMajorSix();

    [GeneratedRegex("password|passwd|secret|access_key|token|private_key|credential", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    // AWS access key IDs, secret-key assignments, private keys, passwords in URLs or assignments.
    [GeneratedRegex(@"\b(AKIA|ASIA)[A-Z0-9]{16}\b|aws_secret_access_key\s*=|-----BEGIN [A-Z ]*PRIVATE KEY-----|://[^/\s:@]+:[^/\s@]+@|password\s*=\s*""[^""$]", RegexOptions.IgnoreCase)]
    private static partial Regex SecretText();
}
