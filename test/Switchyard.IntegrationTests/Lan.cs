using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A daemon, one network and two guests ("alpha", "beta"), optionally with DHCP already run in both.</summary>
internal sealed class Lan : IAsyncDisposable
{
    public required TestDaemon Daemon { get; init; }
    public required NetworkInfo Net { get; init; }
    public required Guest A { get; init; }
    public required Guest B { get; init; }
    public IReadOnlyDictionary<string, string> LeaseA { get; private set; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> LeaseB { get; private set; } = new Dictionary<string, string>();
    public SwitchyardClient Client => Daemon.Client;

    public static async Task<Lan> StartAsync(bool dhcp = true, int? mtu = null, IReadOnlyList<string>? upstreams = null)
    {
        var daemon = await TestDaemon.StartAsync();
        Guest? a = null, b = null;
        try
        {
            var net = await daemon.CreateNetworkAsync(upstreams ?? ["none"], mtu);
            a = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
            b = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
            var lan = new Lan { Daemon = daemon, Net = net, A = a, B = b };
            if (dhcp)
            {
                var ta = Task.Run(a.Dhcp);
                var tb = Task.Run(b.Dhcp);
                lan.LeaseA = await ta;
                lan.LeaseB = await tb;
            }
            return lan;
        }
        catch
        {
            a?.Dispose();
            b?.Dispose();
            await daemon.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        A.Dispose();
        B.Dispose();
        await Daemon.DisposeAsync();
    }
}
