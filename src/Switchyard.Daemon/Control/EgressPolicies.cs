using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Control;

/// <summary>Edits of a network's egress policy: applied live (new flows see it at once) and
/// stored. The caller holds the gate (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class EgressPolicies(NetworkRegistry registry, IStateStore store, ILogger logger)
{
    public void Edit(NetworkRecord net, EgressUpdate u)
    {
        var updated = EgressRules.Edit(net.Live.Egress.Policy, u, net.Row.Mode);
        string? json = StoredEgressPolicy.ToJson(updated);
        store.UpdateNetworkEgress(net.Row.Name, json);
        registry.Write(() => net.Row = net.Row with { EgressJson = json });
        net.Live.Egress.Policy = updated;
        DirectoryLog.EgressUpdated(logger, net.Row.Name, updated is null ? "none" : $"{updated.DefaultText}, {updated.Allow.Count} allow and {updated.Deny.Count} deny rule(s)");
    }
}
