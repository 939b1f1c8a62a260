using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Nat;
using Switchyard.Packets;

namespace Switchyard.Daemon.Control;

/// <summary>Host ports published to remote guests: on a gateway host, guests behind the VXLAN tunnel
/// have no endpoint, only a lease of the network's dynamic pool (docs/multi-host.md, "Published ports").
/// A port is kept for the guest's MAC and goes through the NAT to the address its lease holds at each
/// new connection, like an endpoint's published port. Publish and unpublish at run time, listen again
/// at restore, close with the network. Callers hold the gate (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class RemotePublishedPorts(NetworkRegistry registry, IStateStore store, TimeProvider time, ILogger logger)
{
    /// <summary>Publishes a host port to the remote guest <paramref name="to"/> names (its DHCP host name,
    /// leased IPv4 address or MAC). Publishing a spec again that could not be restored retries it.</summary>
    public NetworkRecord Publish(string network, string to, string specText)
    {
        var net = registry.Find(network);
        var spec = PublishRules.Parse(specText);
        CheckPublishable(net);
        var guest = FindGuest(net, to);
        var existing = registry.Read(() => net.RemotePublished.FirstOrDefault(p => p.Text == spec.ToString()));
        if (existing is not null && (existing.Handle is not null || existing.Mac != guest.Mac))
            throw ControlException.Conflict($"{spec} is already published to remote guest {existing.Mac} on network '{network}'");
        PublishRules.CheckHostPortFree(spec, PublishedPorts.Existing(registry, except: existing));
        var handle = Listen(net, guest.Mac, spec);
        if (existing is not null)
        {
            registry.Write(() => { existing.Handle = handle; existing.Error = null; });
        }
        else
        {
            try { store.InsertRemotePublishedPort(new RemotePublishedPortRow(network, spec.ToString(), guest.Mac, time.GetUtcNow())); }
            catch
            {
                handle.Dispose();
                throw;
            }
            registry.Write(() => net.RemotePublished.Add(new RemotePublishedRecord { Spec = spec, Mac = guest.Mac, Handle = handle }));
        }
        RemotePublishLog.Published(logger, network, spec.ToString(), guest.Mac.ToString(), Describe(guest));
        return net;
    }

    /// <summary>Stops publishing a port: the host port closes at once (connections already made go on).</summary>
    public void Unpublish(string network, string specText)
    {
        var net = registry.Find(network);
        var spec = PublishRules.Parse(specText);
        var existing = registry.Read(() => net.RemotePublished.FirstOrDefault(p => p.Text == spec.ToString()))
            ?? throw ControlException.NotFound($"{spec} is not published to a remote guest on network '{network}'");
        store.DeleteRemotePublishedPort(network, existing.Text);
        registry.Write(() => net.RemotePublished.Remove(existing));
        existing.Handle?.Dispose();
        RemotePublishLog.Unpublished(logger, network, existing.Text, existing.Mac.ToString());
    }

    /// <summary>The published specs of a network's remote guests (a caller's rights are judged on them
    /// before the network is removed or rebuilt).</summary>
    public List<PublishedPort> Specs(NetworkRecord net) => registry.Read(() => net.RemotePublished.Select(p => p.Spec).ToList());

    /// <summary>A restored network's ports listen again, after its pool's leases are back. A port taken
    /// meanwhile fails alone: logged, shown in inspect, and publishing it again retries.</summary>
    public void Restore(NetworkRecord net)
    {
        string network = net.Row.Name;
        foreach (var row in store.RemotePublishedPorts(network))
        {
            if (!RuleSpecs.TryParsePublish(row.Spec, out var spec, out var error))
            {
                RemotePublishLog.RestoreFailed(logger, network, row.Spec, row.Mac.ToString(), error);
                continue;
            }
            var published = new RemotePublishedRecord { Spec = spec, Mac = row.Mac };
            try { published.Handle = net.Live.PublishToRemote(row.Mac, spec); }
            catch (PublishException e)
            {
                published.Error = e.Message;
                RemotePublishLog.RestoreFailed(logger, network, row.Spec, row.Mac.ToString(), e.Message);
            }
            registry.Write(() => net.RemotePublished.Add(published));
        }
    }

    /// <summary>Closes a network's host ports to its remote guests (removal, rebuild, shutdown); what is
    /// stored stays unless the caller deletes it.</summary>
    public void StopListening(NetworkRecord net) => registry.Write(() =>
    {
        foreach (var p in net.RemotePublished)
        {
            p.Handle?.Dispose();
            p.Handle = null;
        }
    });

    /// <summary>Only a network whose gateway runs here with a NAT (nat, host) reaches its guests from the host.</summary>
    public static void CheckPublishable(NetworkRecord net)
    {
        string name = net.Row.Name;
        if (net.JoinsOverVxlan)
            throw ControlException.Invalid($"network '{name}' is bridged:vxlan: it joins a network another host's gateway serves, and has no NAT here; publish on the gateway host (yard network publish {name} --to GUEST SPEC there)");
        if (net.Live.Nat is null)
            throw ControlException.Invalid($"network '{name}' is {ModeSpec.Name(net.Row.Mode)}: it has no NAT, so the host cannot reach its guests (only nat and host networks publish ports)");
    }

    /// <summary>The remote guest <paramref name="to"/> names: a MAC the pool knows (holding or having held
    /// a lease), or the bound (else offered) lease with that IPv4 address or DHCP host name (also as
    /// NAME.DOMAIN). None is a 404 that says where to look.</summary>
    private RemoteGuest FindGuest(NetworkRecord net, string? to)
    {
        string network = net.Row.Name;
        if (string.IsNullOrWhiteSpace(to))
            throw ControlException.Invalid("give the remote guest to publish to: its DHCP host name, leased IPv4 address or MAC (--to)");
        string text = to.Trim();
        var guests = net.Live.RemoteGuests;
        RemoteGuest? found;
        if (MacAddress.TryParse(text, out var mac)) found = guests.FirstOrDefault(g => g.Mac == mac);
        else
        {
            long now = time.GetUtcNow().UtcTicks;
            Func<RemoteGuest, bool> named;
            if (Ipv4Address.TryParse(text, out var address)) named = g => g.Address == address;
            else
            {
                string domain = "." + net.Row.Domain;
                string host = text.EndsWith(domain, StringComparison.OrdinalIgnoreCase) ? text[..^domain.Length] : text;
                named = g => string.Equals(g.HostName, host, StringComparison.OrdinalIgnoreCase);
            }
            found = guests.Where(named).OrderByDescending(g => g.IsBound(now)).ThenByDescending(g => g.State == LeaseState.Offered && g.Expires.UtcTicks > now)
                .FirstOrDefault(g => g.State is LeaseState.Bound or LeaseState.Offered && g.Expires.UtcTicks > now);
        }
        return found ?? throw ControlException.NotFound($"network '{network}' has no remote guest '{Printable(text)}': no lease of its dynamic pool " +
            $"has that host name, address or MAC (see yard network leases {network}; a guest behind the tunnel must have leased once)");
    }

    private static IDisposable Listen(NetworkRecord net, MacAddress mac, PublishedPort spec)
    {
        try { return net.Live.PublishToRemote(mac, spec); }
        catch (PublishException e) { throw ControlException.Conflict(e.Message); }
    }

    private static string Describe(RemoteGuest g) => g.HostName is { } name ? $"{name}, {g.Address}" : g.Address.ToString();

    private static string Printable(string s) => TransportPlanner.Printable(s);
}
