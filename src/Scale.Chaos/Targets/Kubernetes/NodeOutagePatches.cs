using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>What a zone outage does to one node, and the JSON merge patch (RFC 7386) that does it; a null patch changes nothing.</summary>
/// <param name="AddsTaint">The node gets the NoExecute taint (false when it already has it).</param>
/// <param name="Cordons">The node gets cordoned, and marked as cordoned by the outage.</param>
/// <param name="WasCordoned">The node was cordoned before, by someone else: the outage leaves it so, and so does the restore.</param>
/// <param name="Patch">The merge patch; null when the node already is as the outage wants it.</param>
internal sealed record NodeOutageChange(bool AddsTaint, bool Cordons, bool WasCordoned, string? Patch);

/// <summary>What a restore does to one node, and the JSON merge patch that does it; a null patch changes nothing.</summary>
/// <param name="RemovesTaint">The outage's taint is removed.</param>
/// <param name="Uncordons">The node is uncordoned: the outage cordoned it.</param>
/// <param name="LeftCordoned">The node is cordoned, but not by the outage: it stays cordoned.</param>
/// <param name="Patch">The merge patch; null when the node carries no mark of the outage.</param>
internal sealed record NodeRestoreChange(bool RemovesTaint, bool Uncordons, bool LeftCordoned, string? Patch);

/// <summary>
/// The node patches of a zone outage and its restore. Each patch carries the node's resourceVersion, so the API
/// server refuses it (409) if the node changed since it was read. A merge patch replaces the whole taint list, so a
/// patch built from a stale read could otherwise drop a taint that someone else added meanwhile.
/// </summary>
internal static class NodeOutagePatches
{
    /// <summary>The taint the outage adds: NoExecute evicts every pod without a matching toleration, as the node controller's unreachable taint does once its toleration runs out.</summary>
    public static V1Taint Taint(string zone, DateTimeOffset now) => new()
    {
        Key = ZoneFaultMarks.OutageTaintKey,
        Value = zone,
        Effect = "NoExecute",
        // kubectl sets the time for NoExecute taints too: tolerationSeconds count from it.
        TimeAdded = now.UtcDateTime,
    };

    public static NodeOutageChange Outage(V1Node node, string zone, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(node);
        var taints = node.Spec?.Taints ?? [];
        var addsTaint = !taints.Any(taint => taint.Key == ZoneFaultMarks.OutageTaintKey && taint.Effect == "NoExecute");
        var cordoned = node.Spec?.Unschedulable == true;
        var cordonedByOutage = node.Metadata?.Annotations?.ContainsKey(ZoneFaultMarks.CordonedByOutageAnnotation) == true;
        var cordons = !cordoned;
        if (!addsTaint && !cordons)
        {
            return new NodeOutageChange(false, false, cordoned && !cordonedByOutage, null);
        }

        var metadata = new JsonObject { ["resourceVersion"] = node.Metadata?.ResourceVersion };
        var spec = new JsonObject();
        if (cordons)
        {
            // Recorded on the node itself: the restore uncordons only the nodes the outage cordoned.
            metadata["annotations"] = new JsonObject { [ZoneFaultMarks.CordonedByOutageAnnotation] = zone };
            spec["unschedulable"] = true;
        }

        if (addsTaint)
        {
            spec["taints"] = TaintArray([.. taints, Taint(zone, now)]);
        }

        var patch = new JsonObject { ["metadata"] = metadata, ["spec"] = spec }.ToJsonString();
        return new NodeOutageChange(addsTaint, cordons, cordoned && !cordonedByOutage, patch);
    }

    public static NodeRestoreChange Restore(V1Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var taints = node.Spec?.Taints ?? [];
        var remaining = taints.Where(taint => taint.Key != ZoneFaultMarks.OutageTaintKey).ToList();
        var removesTaint = remaining.Count != taints.Count;
        var cordoned = node.Spec?.Unschedulable == true;
        var cordonedByOutage = node.Metadata?.Annotations?.ContainsKey(ZoneFaultMarks.CordonedByOutageAnnotation) == true;
        if (!removesTaint && !cordonedByOutage)
        {
            return new NodeRestoreChange(false, false, cordoned, null);
        }

        var metadata = new JsonObject { ["resourceVersion"] = node.Metadata?.ResourceVersion };
        var spec = new JsonObject();
        if (cordonedByOutage)
        {
            // null deletes in a merge patch: the annotation goes, and unschedulable returns to its default, false.
            metadata["annotations"] = new JsonObject { [ZoneFaultMarks.CordonedByOutageAnnotation] = null };
            if (cordoned)
            {
                spec["unschedulable"] = null;
            }
        }

        if (removesTaint)
        {
            spec["taints"] = remaining.Count == 0 ? null : TaintArray(remaining);
        }

        var patch = new JsonObject { ["metadata"] = metadata, ["spec"] = spec }.ToJsonString();
        return new NodeRestoreChange(removesTaint, cordonedByOutage && cordoned, cordoned && !cordonedByOutage, patch);
    }

    /// <summary>How a node's state reads in a report: "cordoned", "tainted", both or neither.</summary>
    public static string Describe(V1Node node)
    {
        var marks = new List<string>();
        if (node.Spec?.Unschedulable == true)
        {
            marks.Add("cordoned");
        }

        var count = node.Spec?.Taints?.Count ?? 0;
        if (count > 0)
        {
            marks.Add($"{count.ToString(CultureInfo.InvariantCulture)} taint(s)");
        }

        return marks.Count == 0 ? "schedulable, no taints" : string.Join(", ", marks);
    }

    private static JsonArray TaintArray(IEnumerable<V1Taint> taints) =>
        [.. taints.Select(taint => JsonNode.Parse(KubernetesJson.Serialize(taint)))];
}
