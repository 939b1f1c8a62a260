using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// A NAT test's world: an <see cref="OutsideWorld"/> (made first, so the network's subnet is picked clear of its host
/// routes), a daemon, one network in `nat` mode and one guest ("inside") with its DHCP lease, so its default route
/// points at the gateway. <see cref="Run"/> runs a program in the guest for <see cref="OutsideProbes"/>.
/// </summary>
internal sealed class NatLan : IAsyncDisposable
{
    public required OutsideWorld Outside { get; init; }
    public required TestDaemon Daemon { get; init; }
    public required NetworkInfo Net { get; init; }
    public required Guest Guest { get; init; }
    public Runner Run => Guest.TryExec;

    /// <param name="paths">Veth paths from the host to the outside (the route-change test wants 2, made before the
    /// network exists so its subnet stays clear of both).</param>
    /// <param name="network">Changes to the network's create request (mode nat is already set).</param>
    public static async Task<NatLan> StartAsync(int paths = 1, Func<NetworkCreateRequest, NetworkCreateRequest>? network = null)
    {
        var outside = OutsideWorld.Start();
        TestDaemon? daemon = null;
        Guest? guest = null;
        try
        {
            for (int i = 1; i < paths; i++) outside.AddPath();
            daemon = await TestDaemon.StartAsync();
            var net = await daemon.CreateNetworkAsync(["none"], prefix: "nat", customize: r => (network ?? (x => x))(r with { Mode = "nat" }));
            guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
            guest.Dhcp();
            return new NatLan { Outside = outside, Daemon = daemon, Net = net, Guest = guest };
        }
        catch
        {
            guest?.Dispose();
            if (daemon is not null) await daemon.DisposeAsync();
            outside.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Guest.Dispose();
        await Daemon.DisposeAsync();
        Outside.Dispose();
    }
}
