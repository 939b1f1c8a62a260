using Switchyard.Client;
using Switchyard.Daemon.State;
using Switchyard.Network.Transports;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

internal sealed partial class NetworkDirectory
{
    /// <summary>The fd handoff: attaches an endpoint whose transport is one end of a new socket
    /// pair, and returns the other end for the caller to pass to the VM process. The endpoint is
    /// detached when the VM closes its end (the pair cannot outlive it, nor the daemon).</summary>
    public async Task<(EndpointRef Endpoint, SafeFileDescriptorHandle TheirEnd)> AttachSocketPairAsync(Caller caller, string network, EndpointAttachRequest r)
    {
        // A datagram pair cannot tell that the VM closed its end until something is sent to it,
        // so a new handoff for the same name takes over an earlier handed-over endpoint.
        if (_registry.TryGetEndpoint(network, r.Name, out var old) && old.Endpoint.Transport.Kind == TransportKind.Fd)
            await DetachIfCurrentAsync(network, r.Name, null).ConfigureAwait(false);
        SafeFileDescriptorHandle? theirs = null;
        EndpointRef attached;
        try
        {
            using var gate = await _registry.EnterAsync().ConfigureAwait(false);
            _callers.CheckAttach(caller, r with { Transport = new TransportSpec { Kind = "fd" } });
            attached = _endpoints.Attach(network, r with { Transport = new TransportSpec { Kind = "fd", Stream = r.Transport?.Stream ?? false } },
                (spec, config, net) =>
                {
                    var (ours, other) = FdPassing.CreatePair(spec.Stream ? System.Net.Sockets.SocketType.Stream : System.Net.Sockets.SocketType.Dgram);
                    theirs?.Dispose();
                    theirs = other;
                    var transport = _endpoints.Transports.FromSocketPair(ours, spec.Stream, net);
                    // Closed is raised on the transport's own receive loop (or a sender's thread), and
                    // detaching disposes the transport, which waits for that loop: detach elsewhere, or
                    // the loop waits on itself (2 s, holding the gate) and a sender blocks.
                    void OnClosed() => _ = Task.Run(() => DetachIfCurrentAsync(network, r.Name, transport));
                    if (transport is StreamTransport s) s.Closed += OnClosed;
                    else if (transport is DgramTransport d) d.Closed += OnClosed;
                    return transport;
                });
        }
        catch
        {
            theirs?.Dispose(); // the caller's end of a pair whose endpoint did not come to be
            throw;
        }
        return (attached, theirs!);
    }

    /// <summary>Detaches a handed-over endpoint if it still has <paramref name="transport"/> (any, when null).</summary>
    private async Task DetachIfCurrentAsync(string network, string name, IFrameTransport? transport)
    {
        try
        {
            bool current = _registry.TryGetEndpoint(network, name, out var found) && found.Endpoint.Transport.Kind == TransportKind.Fd
                && (transport is null || found.Endpoint.Port?.Transport == transport);
            if (current) await DetachAsync(Caller.Daemon, network, name).ConfigureAwait(false);
        }
        catch (ControlException) { /* already gone */ }
    }
}
