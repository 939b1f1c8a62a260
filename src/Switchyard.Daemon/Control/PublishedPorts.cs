using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Control;

/// <summary>Host ports published to endpoints: publish and unpublish at run time, listen at attach
/// and restore, close at detach. Callers hold the gate (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class PublishedPorts(NetworkRegistry registry, IStateStore store, TimeProvider time, ILogger logger)
{
    /// <summary>Publishes a host port to an endpoint at run time. Publishing a spec again that
    /// could not be restored at startup retries it.</summary>
    public EndpointRef Publish(string network, string name, string specText)
    {
        var (net, e) = registry.FindEndpoint(network, name);
        var spec = PublishRules.Parse(specText);
        CheckPublishable(net);
        var existing = registry.Read(() => e.Published.FirstOrDefault(p => p.Text == spec.ToString()));
        if (existing is { Handle: not null }) throw ControlException.Conflict($"{spec} is already published to endpoint '{name}' on network '{network}'");
        PublishRules.CheckHostPortFree(spec, Existing(except: existing));
        var handle = Listen(net, name, spec);
        if (existing is not null)
        {
            registry.Write(() => { existing.Handle = handle; existing.Error = null; });
        }
        else
        {
            try { store.InsertPublishedPort(new PublishedPortRow(network, name, spec.ToString(), time.GetUtcNow())); }
            catch
            {
                handle.Dispose();
                throw;
            }
            registry.Write(() => e.Published.Add(new PublishedRecord { Spec = spec, Handle = handle }));
        }
        DirectoryLog.PortPublished(logger, network, name, spec.ToString());
        return new(net, e);
    }

    /// <summary>Stops publishing a port: the host port is closed at once (connections already
    /// made go on until they end).</summary>
    public void Unpublish(string network, string name, string specText)
    {
        var (_, e) = registry.FindEndpoint(network, name);
        var spec = PublishRules.Parse(specText);
        var existing = registry.Read(() => e.Published.FirstOrDefault(p => p.Text == spec.ToString()))
            ?? throw ControlException.NotFound($"{spec} is not published to endpoint '{name}' on network '{network}'");
        store.DeletePublishedPort(network, name, existing.Text);
        registry.Write(() => e.Published.Remove(existing));
        existing.Handle?.Dispose();
        DirectoryLog.PortUnpublished(logger, network, name, existing.Text);
    }

    /// <summary>An attach request's publish specs, checked whole before anything is attached.</summary>
    public List<PublishedPort> CheckForAttach(NetworkRecord net, IReadOnlyList<string> specs) =>
        PublishRules.CheckAll(specs, () => CheckPublishable(net), Existing(except: null));

    /// <summary>Every published port of every endpoint (listening or not), but <paramref name="except"/>.</summary>
    private List<ExistingPublish> Existing(PublishedRecord? except) => Existing(registry, except);

    /// <summary>Every published port (listening or not) of every endpoint and every network's remote
    /// guests, but <paramref name="except"/> (a <see cref="PublishedRecord"/> or a <see cref="RemotePublishedRecord"/>):
    /// a host port belongs to one of them across all networks.</summary>
    public static List<ExistingPublish> Existing(NetworkRegistry registry, object? except) => registry.Read(() =>
        registry.Snapshot().SelectMany(n => n.Endpoints.Values.SelectMany(e =>
                e.Published.Where(p => p != except).Select(p => new ExistingPublish(p.Spec, n.Row.Name, e.Row.Name)))
            .Concat(n.RemotePublished.Where(p => p != except).Select(p => new ExistingPublish(p.Spec, n.Row.Name, "", p.Mac.ToString())))).ToList());

    /// <summary>Only networks with a NAT (nat, host) have a way from the host to their guests.</summary>
    private static void CheckPublishable(NetworkRecord net)
    {
        if (net.Live.Nat is null)
            throw ControlException.Invalid($"network '{net.Row.Name}' is {ModeSpec.Name(net.Row.Mode)}: its endpoints cannot publish ports (only nat and host networks reach the host)");
    }

    /// <summary>Listens on the host port; a port that cannot be had is a conflict with the reason.</summary>
    public static IDisposable Listen(NetworkRecord net, string endpoint, PublishedPort spec)
    {
        try { return net.Live.Publish(endpoint, spec); }
        catch (PublishException e) { throw ControlException.Conflict(e.Message); }
    }

    /// <summary>A restored endpoint's ports listen again (also for an endpoint that came back down:
    /// clients then get a RST until it is attached again). A port taken meanwhile fails alone: it
    /// is logged and shown in inspect, and publishing it again retries.</summary>
    public void Restore(NetworkRecord net, EndpointRecord record)
    {
        foreach (var p in store.PublishedPorts(net.Row.Name, record.Row.Name))
        {
            if (!RuleSpecs.TryParsePublish(p.Spec, out var spec, out var error))
            {
                DirectoryLog.PortRestoreFailed(logger, net.Row.Name, record.Row.Name, p.Spec, error);
                continue;
            }
            var published = new PublishedRecord { Spec = spec };
            try { published.Handle = net.Live.Publish(record.Row.Name, spec); }
            catch (PublishException e)
            {
                published.Error = e.Message;
                DirectoryLog.PortRestoreFailed(logger, net.Row.Name, record.Row.Name, p.Spec, e.Message);
            }
            record.Published.Add(published);
        }
    }

    /// <summary>Closes an endpoint's host ports (detach, shutdown).</summary>
    public void StopListening(EndpointRecord e) => registry.Write(() =>
    {
        foreach (var p in e.Published)
        {
            p.Handle?.Dispose();
            p.Handle = null;
        }
    });
}
