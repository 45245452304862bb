using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>
/// The NetworkPolicy and the pod labels that cut one zone's Scale pods off from the rest. NetworkPolicies only
/// allow traffic; they cannot deny it. A pod selected by several policies gets the union of what they allow. A
/// "deny" policy added next to the namespace's own allow policies therefore changes nothing. The partition works
/// with those policies instead:
/// <list type="bullet">
/// <item>The zone's Scale pods get <see cref="ZoneFaultMarks.PartitionedZoneLabel"/>. The namespace's own policies
/// (deploy/k8s/base/network-policies.yaml) admit in-namespace peers only without that label. So a partitioned pod
/// and an unpartitioned pod reject each other at both ends.</item>
/// <item>The partition policy (<see cref="Policy"/>) gives the zone's pods back their links with each other, and
/// DNS.</item>
/// <item>With scope <c>all</c>, the pods also get <see cref="ZoneFaultMarks.PartitionScopeLabel"/>=all. The
/// namespace's policies stop selecting them, so default-deny and DNS apply, and only what the partition policy
/// allows remains. That means no load balancer, monitoring, operator or API server.</item>
/// </list>
/// <see cref="FindLeaks"/> checks a namespace's actual policies against this before anything is changed.
/// </summary>
public static partial class ZonePartition
{
    /// <summary>
    /// The ports Scale's pods use with each other inside the namespace: PostgreSQL (clients and streaming
    /// replication) and CloudNativePG's instance status port. The zone keeps these among its own pods.
    /// </summary>
    public static IReadOnlyList<int> InZonePorts { get; } = [5432, 8000];

    /// <summary>The partition policy's name for <paramref name="zone"/>, e.g. scale-chaos-partition-eu-west-1b.</summary>
    public static string PolicyName(string zone)
    {
        RequireLabelValue(zone);
        // A label value may hold '_' and capitals; an object name (DNS-1123 subdomain) may not.
        return ZoneFaultMarks.PartitionPolicyPrefix + NameUnsafe().Replace(zone.ToLowerInvariant(), "-");
    }

    /// <summary>The labels a partition puts on each Scale pod of <paramref name="zone"/>.</summary>
    public static IReadOnlyDictionary<string, string> PodLabels(string zone, bool fromLoadBalancerToo)
    {
        RequireLabelValue(zone);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ZoneFaultMarks.PartitionedZoneLabel] = zone,
            [ZoneFaultMarks.PartitionScopeLabel] = fromLoadBalancerToo ? ZoneFaultMarks.ScopeAll : ZoneFaultMarks.ScopeZones,
        };
    }

    /// <summary>
    /// The partition's NetworkPolicy in <paramref name="namespace"/>. It selects the pods labelled with
    /// <paramref name="zone"/>, allows them <see cref="InZonePorts"/> with each other both ways, and allows DNS to
    /// kube-dns. Everything else they may still do comes from the namespace's own policies (scope zones) or from
    /// nothing (scope all).
    /// </summary>
    public static V1NetworkPolicy Policy(string @namespace, string zone)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(@namespace);
        RequireLabelValue(zone);
        var sameZone = new V1NetworkPolicyPeer { PodSelector = ZoneSelector(zone) };
        var inZonePorts = InZonePorts.Select(port => new V1NetworkPolicyPort { Protocol = "TCP", Port = port }).ToList();
        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = new V1ObjectMeta
            {
                Name = PolicyName(zone),
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [ZoneFaultMarks.ManagedByLabel] = ZoneFaultMarks.ManagedBy,
                    [ZoneFaultMarks.PartitionedZoneLabel] = zone,
                },
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["scale.chaos/why"] = $"zone {zone} partitioned by `scale chaos` (partition_zone); heal_partition deletes this policy and the pods' {ZoneFaultMarks.PartitionedZoneLabel} labels.",
                },
            },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = ZoneSelector(zone),
                PolicyTypes = ["Ingress", "Egress"],
                Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [sameZone], Ports = inZonePorts }],
                Egress =
                [
                    new V1NetworkPolicyEgressRule { To = [sameZone], Ports = inZonePorts },
                    new V1NetworkPolicyEgressRule
                    {
                        To =
                        [
                            new V1NetworkPolicyPeer
                            {
                                NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "kube-system" } },
                                PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } },
                            },
                        ],
                        Ports =
                        [
                            new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 },
                            new V1NetworkPolicyPort { Protocol = "TCP", Port = 53 },
                        ],
                    },
                ],
            },
        };
    }

    /// <summary>
    /// What would still get through if the pods in <paramref name="partitioned"/> were labelled as a partition
    /// labels them. Each entry names a connection and the policies that allow it. An empty list means the
    /// partition holds, as far as the API objects tell. Whether the CNI enforces them is another matter.
    /// <paramref name="policies"/> are the namespace's policies, with the partition's own among them.
    /// </summary>
    /// <param name="policies">Every NetworkPolicy that would apply: the namespace's own and the partition's.</param>
    /// <param name="partitioned">The zone's Scale pods with the labels the partition gives them.</param>
    /// <param name="others">The Scale pods of the other zones, which must become unreachable.</param>
    /// <param name="fromLoadBalancerToo">Scope all: the partitioned pods may also reach nothing outside the namespace but DNS.</param>
    internal static IReadOnlyList<string> FindLeaks(
        IReadOnlyList<V1NetworkPolicy> policies,
        IReadOnlyList<PolicyPod> partitioned,
        IReadOnlyList<PolicyPod> others,
        bool fromLoadBalancerToo)
    {
        var leaks = new List<string>();
        foreach (var inside in partitioned)
        {
            foreach (var outside in others)
            {
                foreach (var (from, to) in new[] { (inside, outside), (outside, inside) })
                {
                    if (Reach(policies, from, to) is { } through)
                    {
                        leaks.Add($"{from.Name} -> {to.Name} ({through})");
                    }
                }
            }

            if (fromLoadBalancerToo)
            {
                leaks.AddRange(OutsideAllowed(policies, inside).Select(rule => $"{inside.Name}: {rule}"));
            }
        }

        return leaks;
    }

    /// <summary>Where a policy rule lets <paramref name="from"/> open a connection to <paramref name="to"/>, in words; null when none does.</summary>
    internal static string? Reach(IReadOnlyList<V1NetworkPolicy> policies, PolicyPod from, PolicyPod to)
    {
        var egress = Allowed(policies, "Egress", from, to);
        var ingress = Allowed(policies, "Ingress", to, from);
        if (egress.Ports is null || ingress.Ports is null)
        {
            return null;
        }

        var common = PortRange.Intersect(egress.Ports, ingress.Ports);
        return common.Count == 0
            ? null
            : $"ports {string.Join(", ", common.Select(range => range.ToString()))}: egress {egress.Why}, ingress {ingress.Why}";
    }

    private static IEnumerable<string> OutsideAllowed(IReadOnlyList<V1NetworkPolicy> policies, PolicyPod pod)
    {
        foreach (var policy in policies.Where(policy => !IsPartitionPolicy(policy) && Selects(policy, pod)))
        {
            var types = PolicyTypes(policy);
            if (types.Contains("Ingress") && policy.Spec.Ingress is { Count: > 0 })
            {
                yield return $"policy {policy.Metadata.Name} still allows ingress";
            }

            // DNS (port 53) is the one thing an isolated zone keeps: without it nothing in the zone resolves a name.
            if (types.Contains("Egress") && (policy.Spec.Egress ?? []).Any(rule => rule.Ports is not { Count: > 0 } || rule.Ports.Any(port => port.Port?.Value != "53")))
            {
                yield return $"policy {policy.Metadata.Name} still allows egress other than DNS";
            }
        }
    }

    /// <summary>
    /// The ports <paramref name="pod"/> may use in <paramref name="direction"/> with <paramref name="peer"/>:
    /// null (none), every port when no policy isolates the pod in that direction, or the union over the rules
    /// that match the peer.
    /// </summary>
    private static (IReadOnlyList<PortRange>? Ports, string Why) Allowed(IReadOnlyList<V1NetworkPolicy> policies, string direction, PolicyPod pod, PolicyPod peer)
    {
        var isolating = policies.Where(policy => Selects(policy, pod) && PolicyTypes(policy).Contains(direction)).ToList();
        if (isolating.Count == 0)
        {
            return ([PortRange.Any], $"of {pod.Name} unrestricted (no policy selects it)");
        }

        var ports = new List<PortRange>();
        var through = new List<string>();
        foreach (var policy in isolating)
        {
            var rules = direction == "Ingress"
                ? (policy.Spec.Ingress ?? []).Select(rule => (Peers: rule.FromProperty, rule.Ports))
                : (policy.Spec.Egress ?? []).Select(rule => (Peers: rule.To, rule.Ports));
            foreach (var (peers, rulePorts) in rules)
            {
                if (peers is { Count: > 0 } && !peers.Any(candidate => PeerMatches(candidate, policy.Metadata.NamespaceProperty, peer)))
                {
                    continue;
                }

                ports.AddRange(rulePorts is { Count: > 0 } ? rulePorts.Select(PortRange.From) : [PortRange.Any]);
                through.Add(policy.Metadata.Name);
            }
        }

        return ports.Count == 0
            ? (null, "")
            : (ports, $"of {pod.Name} by {string.Join(", ", through.Distinct(StringComparer.Ordinal))}");
    }

    private static bool PeerMatches(V1NetworkPolicyPeer peer, string? policyNamespace, PolicyPod other)
    {
        if (peer.IpBlock is not null)
        {
            // On EKS the VPC CNI gives pods addresses from the VPC, so an address block may well cover other pods:
            // count it as reaching them.
            return true;
        }

        // Only the namespace's name label is known here (reading namespaces needs another permission); Scale's
        // policies select namespaces by nothing else.
        var namespaceMatches = peer.NamespaceSelector is null
            ? string.Equals(other.Namespace, policyNamespace, StringComparison.Ordinal)
            : LabelSelectors.Matches(peer.NamespaceSelector, new Dictionary<string, string>(StringComparer.Ordinal) { ["kubernetes.io/metadata.name"] = other.Namespace });
        return namespaceMatches && (peer.PodSelector is null || LabelSelectors.Matches(peer.PodSelector, other.Labels));
    }

    private static bool Selects(V1NetworkPolicy policy, PolicyPod pod) =>
        string.Equals(policy.Metadata.NamespaceProperty ?? pod.Namespace, pod.Namespace, StringComparison.Ordinal)
        && LabelSelectors.Matches(policy.Spec.PodSelector, pod.Labels);

    // As the API server defaults it: Ingress always, Egress when the policy has egress rules.
    private static IList<string> PolicyTypes(V1NetworkPolicy policy) =>
        policy.Spec.PolicyTypes is { Count: > 0 } types ? types
        : policy.Spec.Egress is { Count: > 0 } ? ["Ingress", "Egress"]
        : ["Ingress"];

    private static bool IsPartitionPolicy(V1NetworkPolicy policy) =>
        policy.Metadata.Name?.StartsWith(ZoneFaultMarks.PartitionPolicyPrefix, StringComparison.Ordinal) == true
        && policy.Metadata.Labels?.TryGetValue(ZoneFaultMarks.ManagedByLabel, out var manager) == true
        && manager == ZoneFaultMarks.ManagedBy;

    private static V1LabelSelector ZoneSelector(string zone) =>
        new() { MatchLabels = new Dictionary<string, string> { [ZoneFaultMarks.PartitionedZoneLabel] = zone } };

    /// <summary>A zone must be a valid label value to select pods by it.</summary>
    internal static void RequireLabelValue(string zone)
    {
        if (string.IsNullOrEmpty(zone) || !LabelValue().IsMatch(zone))
        {
            throw new ChaosException($"zone '{zone}' cannot be a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit).");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("[^a-z0-9.-]")]
    private static partial Regex NameUnsafe();

    /// <summary>A TCP or UDP port range a rule allows (a named port or no port counts as every port of its protocol).</summary>
    private sealed record PortRange(string? Protocol, int First, int Last)
    {
        public static PortRange Any { get; } = new(null, 1, 65535);

        public static PortRange From(V1NetworkPolicyPort port)
        {
            var protocol = port.Protocol ?? "TCP";
            if (port.Port?.Value is not { } value)
            {
                return new PortRange(protocol, 1, 65535);
            }

            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                // A named port: which number it is depends on the pod; assume it could be any.
                return new PortRange(protocol, 1, 65535);
            }

            return new PortRange(protocol, number, port.EndPort ?? number);
        }

        public static IReadOnlyList<PortRange> Intersect(IReadOnlyList<PortRange> left, IReadOnlyList<PortRange> right) =>
        [
            .. left.SelectMany(a => right.Select(b =>
                (Protocol: a.Protocol ?? b.Protocol, Same: a.Protocol is null || b.Protocol is null || a.Protocol == b.Protocol, First: Math.Max(a.First, b.First), Last: Math.Min(a.Last, b.Last))))
                .Where(range => range.Same && range.First <= range.Last)
                .Select(range => new PortRange(range.Protocol, range.First, range.Last))
                .Distinct(),
        ];

        public override string ToString()
        {
            var ports = First == 1 && Last == 65535 ? "any"
                : First == Last ? First.ToString(CultureInfo.InvariantCulture)
                : $"{First.ToString(CultureInfo.InvariantCulture)}-{Last.ToString(CultureInfo.InvariantCulture)}";
            return Protocol is null ? ports : $"{Protocol} {ports}";
        }
    }
}

/// <summary>A pod as a NetworkPolicy sees it: its namespace and labels.</summary>
internal sealed record PolicyPod(string Name, string Namespace, IReadOnlyDictionary<string, string> Labels);
