using System.Net;
using System.Net.Sockets;
using Switchyard.Daemon.Control;
using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Planning;

/// <summary>A published port that exists, and whose it is (for the conflict message): an endpoint's,
/// or (<paramref name="RemoteMac"/> set) a remote guest's of the network, with no endpoint.</summary>
public sealed record ExistingPublish(PublishedPort Spec, string Network, string Endpoint, string? RemoteMac = null)
{
    /// <summary>Whose it is, for a message: <c>endpoint 'web'</c> or <c>remote guest 02:..</c>.</summary>
    public string Owner => RemoteMac is null ? $"endpoint '{Endpoint}'" : $"remote guest {RemoteMac}";
}

/// <summary>The rules for published host ports: one host socket per spec, across all networks.</summary>
public static class PublishRules
{
    public static PublishedPort Parse(string? text) =>
        RuleSpecs.TryParsePublish(text, out var spec, out var error) ? spec : throw ControlException.Invalid(error);

    /// <summary>An attach request's publish specs, checked whole before anything is attached:
    /// parsed, not overlapping each other, and each host port not published already.</summary>
    public static List<PublishedPort> CheckAll(IReadOnlyList<string> specs, Action checkPublishable, IReadOnlyCollection<ExistingPublish> existing)
    {
        var list = new List<PublishedPort>();
        foreach (var text in specs) list.Add(Parse(text));
        if (list.Count == 0) return list;
        checkPublishable();
        for (int i = 0; i < list.Count; i++)
        {
            for (int j = 0; j < i; j++)
                if (Overlaps(list[i], list[j])) throw ControlException.Conflict($"publish {list[i]} and {list[j]} want the same host port");
            CheckHostPortFree(list[i], existing);
        }
        return list;
    }

    /// <summary>Conflict when another published port (of any endpoint of any network, listening or
    /// not) has the host port of <paramref name="spec"/>.</summary>
    public static void CheckHostPortFree(PublishedPort spec, IReadOnlyCollection<ExistingPublish> existing)
    {
        foreach (var p in existing)
            if (Overlaps(spec, p.Spec))
                throw ControlException.Conflict($"host port {HostPort(spec)} is already published to {p.Owner} on network '{p.Network}' ({p.Spec})");
    }

    public static string HostPort(PublishedPort p) =>
        $"{(p.HostAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{p.HostAddress}]" : p.HostAddress)}:{p.HostPort}/{p.ProtocolName}";

    /// <summary>Whether two specs want the same host socket: same protocol and port, and the same
    /// address or a wildcard that covers the other (:: covers IPv4 too, as the kernel's dual-stack
    /// sockets do).</summary>
    public static bool Overlaps(PublishedPort a, PublishedPort b)
    {
        if (a.Protocol != b.Protocol || a.HostPort != b.HostPort) return false;
        if (a.HostAddress.Equals(b.HostAddress)) return true;
        return Covers(a.HostAddress, b.HostAddress) || Covers(b.HostAddress, a.HostAddress);

        static bool Covers(IPAddress wildcard, IPAddress other) =>
            wildcard.Equals(IPAddress.IPv6Any) || (wildcard.Equals(IPAddress.Any) && other.AddressFamily == AddressFamily.InterNetwork);
    }
}
