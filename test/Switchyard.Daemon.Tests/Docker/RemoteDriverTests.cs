using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Docker;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests.Docker;

/// <summary>The driver's network calls against a real control plane and a fake dockerd: the network is made under
/// the name dockerd gives once it knows the ID (CreateNetwork carries none), under docker-ID12 when dockerd cannot
/// tell, adopted when a network of that name and subnet exists, and remembered across a restart.</summary>
public sealed class RemoteDriverTests : IDisposable
{
    private const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-docker-");
    private readonly StateStore _store;
    private readonly ControlPlane _plane;
    private readonly FakeEngine _engine = new();

    public RemoteDriverTests()
    {
        _store = new StateStore(Path.Combine(_dir.FullName, "state.db"));
        var resolv = Path.Combine(_dir.FullName, "resolv.conf");
        File.WriteAllText(resolv, "");
        _plane = new ControlPlane(_store, new DirectoryOptions(resolv, TimeSpan.FromHours(1)), NullLoggerFactory.Instance, host: new EmptyHost());
        _plane.Directory.StartAsync(createDefault: false).GetAwaiter().GetResult();
    }

    private RemoteDriver Driver() => new(_plane.Directory, _plane.Registry, new DockerBindings(_dir.FullName), _engine, NullLogger.Instance, TimeSpan.FromSeconds(2));

    private static CreateNetworkRequest Create(string pool = "10.30.0.0/24", string id = Id) =>
        new() { NetworkID = id, IPv4Data = [new IpamData { Pool = pool, Gateway = pool.Replace(".0/24", ".1/24", StringComparison.Ordinal) }] };

    [Fact]
    public async Task The_network_gets_the_name_dockerd_gives_once_it_knows_the_id()
    {
        var driver = Driver();
        _engine.Names[Id] = "Lab_1";
        _engine.KnownAfter = 3;   // dockerd stores the network only after the driver has answered
        await driver.CreateNetworkAsync(Create());
        await driver.IdleAsync();
        var net = _plane.Registry.Find("lab-1");
        Assert.Equal("10.30.0.0/24", net.Live.Config.Subnet.ToString());
        Assert.Contains(Id, net.Row.LabelsJson, StringComparison.Ordinal);
        Assert.True(_engine.Calls >= 3);

        await driver.DeleteNetworkAsync(new NetworkRequest { NetworkID = Id });
        Assert.False(_plane.Registry.TryGet("lab-1", out _));
        await driver.DeleteNetworkAsync(new NetworkRequest { NetworkID = Id });   // again: already gone is fine
    }

    [Fact]
    public async Task A_network_removed_outside_docker_is_made_again_for_the_next_container()
    {
        var driver = Driver();
        _engine.Names[Id] = "lab";
        await driver.CreateNetworkAsync(Create());
        await driver.IdleAsync();
        await _plane.Directory.DeleteNetworkAsync(Caller.Daemon, "lab");   // as `yard network prune` would
        // The endpoint itself needs a TAP (root): here it is enough that the network is back before it.
        try
        {
            await driver.CreateEndpointAsync(new EndpointRequest
            {
                NetworkID = Id, EndpointID = Id, Interface = new EndpointInterface { Address = "10.30.0.2/24" },
            });
        }
        catch (ControlException) { }
        Assert.True(_plane.Registry.TryGet("lab", out var again));
        Assert.Equal("10.30.0.0/24", again.Live.Config.Subnet.ToString());
    }

    [Fact]
    public async Task Without_an_answer_from_dockerd_the_network_is_docker_id12()
    {
        _engine.Unavailable = true;
        var driver = Driver();
        await driver.CreateNetworkAsync(Create());
        await driver.IdleAsync();
        Assert.True(_plane.Registry.TryGet("docker-0123456789ab", out _));
    }

    [Fact]
    public async Task A_network_of_that_name_and_subnet_is_adopted_and_stays_after_delete()
    {
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "mine", Subnet = "10.30.0.0/24", Mode = "host" });
        _engine.Names[Id] = "mine";
        var driver = Driver();
        await driver.CreateNetworkAsync(Create());
        await driver.IdleAsync();
        await driver.DeleteNetworkAsync(new NetworkRequest { NetworkID = Id });
        Assert.True(_plane.Registry.TryGet("mine", out var kept));
        Assert.DoesNotContain(Id, kept.Row.LabelsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_of_that_name_with_another_subnet_is_an_error_at_the_first_endpoint()
    {
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "mine", Subnet = "10.31.0.0/24" });
        _engine.Names[Id] = "mine";
        var driver = Driver();
        await driver.CreateNetworkAsync(Create());
        await driver.IdleAsync();
        var e = await Assert.ThrowsAsync<ControlException>(() => driver.CreateEndpointAsync(new EndpointRequest
        {
            NetworkID = Id, EndpointID = Id, Interface = new EndpointInterface { Address = "10.30.0.2/24" },
        }));
        Assert.Contains("exists with subnet 10.31.0.0/24", e.Message, StringComparison.Ordinal);
        Assert.Empty(_store.Endpoints("mine"));
    }

    [Fact]
    public async Task A_subnet_overlapping_another_network_is_refused_at_create()
    {
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "wide", Subnet = "10.30.0.0/16" });
        var e = await Assert.ThrowsAsync<ControlException>(() => Driver().CreateNetworkAsync(Create()));
        Assert.Equal(ControlError.Conflict, e.Kind);
        Assert.Contains("'wide'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_not_named_before_a_restart_is_named_after_it()
    {
        // A binding stored, not yet named (as if the daemon stopped right after CreateNetwork).
        new DockerBindings(_dir.FullName).Set(new DockerNetworkBinding { NetworkId = Id, Spec = new DockerNetworkSpec { Subnet = "10.30.0.0/24" } });
        _engine.Names[Id] = "later";
        var restarted = Driver();
        Assert.False(_plane.Registry.TryGet("later", out _));
        restarted.Resume();
        await restarted.IdleAsync();
        Assert.True(_plane.Registry.TryGet("later", out _));
    }

    [Fact]
    public async Task Calls_about_unknown_networks_and_endpoints_are_clear()
    {
        var driver = Driver();
        var e = await Assert.ThrowsAsync<ControlException>(() => driver.CreateEndpointAsync(new EndpointRequest
        {
            NetworkID = Id, EndpointID = Id, Interface = new EndpointInterface { Address = "10.30.0.2/24" },
        }));
        Assert.Contains("not served by this driver", e.Message, StringComparison.Ordinal);
        Assert.Throws<ControlException>(() => driver.Join(new EndpointRequest { NetworkID = Id, EndpointID = Id }));
        await driver.DeleteEndpointAsync(new EndpointRequest { NetworkID = Id, EndpointID = Id });   // gone already: fine
        await Assert.ThrowsAsync<ControlException>(() => driver.CreateNetworkAsync(Create(id: "not-an-id")));
    }

    public void Dispose()
    {
        _plane.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }

    private sealed class FakeEngine : IDockerEngine
    {
        public Dictionary<string, string> Names { get; } = [];
        public bool Unavailable { get; set; }
        public int KnownAfter { get; set; }
        public int Calls;

        public Task<string?> NetworkNameAsync(string networkId, CancellationToken cancel)
        {
            if (Unavailable) throw new DockerEngineUnavailableException("no dockerd here");
            return Task.FromResult(Interlocked.Increment(ref Calls) < KnownAfter ? null : Names.GetValueOrDefault(networkId));
        }

        public Task<IReadOnlyList<JoinedEndpoint>> JoinedAsync(string networkId, CancellationToken cancel) =>
            Unavailable ? throw new DockerEngineUnavailableException("no dockerd here") : Task.FromResult<IReadOnlyList<JoinedEndpoint>>([]);
    }
}
