using k8s.Models;

namespace Scale.Deploy.Tests.Kubernetes;

/// <summary>A party to a connection: a pod (its namespace and labels), or an address outside the cluster (no namespace).</summary>
public sealed record NetworkEndpoint(string? Namespace, IDictionary<string, string> Labels)
{
    public static NetworkEndpoint Pod(string @namespace, IDictionary<string, string> labels) => new(@namespace, labels);

    public static NetworkEndpoint Outside { get; } = new(null, new Dictionary<string, string>());

    public override string ToString() => Namespace is null ? "outside" : $"{Namespace}/{{{string.Join(',', Labels.Select(l => $"{l.Key}={l.Value}"))}}}";
}

/// <summary>
/// Kubernetes NetworkPolicy semantics for the selectors Scale's policies use: a pod selected by no policy of a
/// direction is open in that direction; a selected pod accepts only what some rule of a selecting policy allows;
/// a connection needs the sender's egress and the receiver's ingress. Namespaces are matched by their
/// kubernetes.io/metadata.name label, which the API server sets on every namespace.
/// </summary>
public static class NetworkPolicies
{
    public static bool Allows(IReadOnlyList<V1NetworkPolicy> policies, NetworkEndpoint from, NetworkEndpoint to, int port, string protocol = "TCP") =>
        EgressAllows(policies, from, to, port, protocol) && IngressAllows(policies, from, to, port, protocol);

    private static bool EgressAllows(IReadOnlyList<V1NetworkPolicy> policies, NetworkEndpoint from, NetworkEndpoint to, int port, string protocol)
    {
        var selecting = Selecting(policies, from, "Egress").ToList();
        return selecting.Count == 0 || selecting.Any(p => (p.Spec.Egress ?? []).Any(rule =>
            PeersMatch(rule.To, p.Metadata.NamespaceProperty, to) && PortsMatch(rule.Ports, port, protocol)));
    }

    private static bool IngressAllows(IReadOnlyList<V1NetworkPolicy> policies, NetworkEndpoint from, NetworkEndpoint to, int port, string protocol)
    {
        var selecting = Selecting(policies, to, "Ingress").ToList();
        return selecting.Count == 0 || selecting.Any(p => (p.Spec.Ingress ?? []).Any(rule =>
            PeersMatch(rule.FromProperty, p.Metadata.NamespaceProperty, from) && PortsMatch(rule.Ports, port, protocol)));
    }

    private static IEnumerable<V1NetworkPolicy> Selecting(IEnumerable<V1NetworkPolicy> policies, NetworkEndpoint pod, string direction) =>
        pod.Namespace is null
            ? []
            : policies.Where(p => p.Metadata.NamespaceProperty == pod.Namespace
                && Manifests.Selects(p.Spec.PodSelector, pod.Labels)
                && (p.Spec.PolicyTypes ?? ["Ingress"]).Contains(direction));

    private static bool PeersMatch(IList<V1NetworkPolicyPeer>? peers, string policyNamespace, NetworkEndpoint other)
    {
        if (peers is null || peers.Count == 0)
        {
            return true;
        }

        return peers.Any(peer =>
        {
            if (peer.IpBlock is { } block)
            {
                // Only the "anywhere" block is used here; an address outside the cluster matches it.
                return other.Namespace is null && block.Cidr == "0.0.0.0/0";
            }

            if (other.Namespace is null)
            {
                return false;
            }

            var namespaceOk = peer.NamespaceSelector is null
                ? other.Namespace == policyNamespace
                : Manifests.Selects(peer.NamespaceSelector, new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = other.Namespace });
            var podOk = peer.PodSelector is null || Manifests.Selects(peer.PodSelector, other.Labels);
            return namespaceOk && podOk;
        });
    }

    private static bool PortsMatch(IList<V1NetworkPolicyPort>? ports, int port, string protocol) =>
        ports is null || ports.Count == 0 || ports.Any(p =>
            (p.Protocol ?? "TCP") == protocol && (p.Port is null || p.Port.Value == port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
