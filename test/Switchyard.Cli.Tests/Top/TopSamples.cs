using Switchyard.Cli.Top;
using Switchyard.Client;

namespace Switchyard.Cli.Tests.Top;

/// <summary>Hand-made samples: what the API would have said, without a daemon.</summary>
internal static class TopSamples
{
    public static readonly DateTimeOffset Created = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static NetworkInfo NetInfo(string name = "lab", long dnsQueries = 0, NatCounters? nat = null, string? egress = null) => new()
    {
        Name = name,
        Mode = "nat",
        Subnet = "10.10.0.0/24",
        Gateway = "10.10.0.1",
        GatewayMac = "02:00:00:00:00:01",
        Mtu = 1500,
        Domain = name + ".internal",
        DnsUpstreams = ["none"],
        Labels = new Dictionary<string, string>(),
        Created = Created,
        Services = new GatewayCounters { DnsQueries = dnsQueries },
        Nat = nat ?? new NatCounters(),
        Egress = egress is null ? null : new EgressPolicySpec { Default = egress },
    };

    public static EndpointInfo Endpoint(string name, long bytesIn, long bytesOut, long framesIn = 0, long framesOut = 0, long dropped = 0,
        string network = "lab", DateTimeOffset? created = null, string ip = "10.10.0.2") => new()
    {
        Network = network,
        Name = name,
        Fqdn = $"{name}.{network}.internal",
        Mac = "02:11:22:33:44:55",
        Ipv4 = ip,
        Transport = new TransportSpec { Kind = "tap" },
        State = "up",
        Created = created ?? Created,
        Counters = new PortCountersInfo
        {
            BytesIn = bytesIn, BytesOut = bytesOut, FramesIn = framesIn, FramesOut = framesOut, Dropped = dropped,
            Drops = new Dictionary<string, long>(),
        },
    };

    public static EgressEvent Egress(string endpoint, string verdict, string destination, string reason) => new()
    {
        Time = Created, Network = "lab", Endpoint = endpoint, Protocol = "tcp", Destination = destination, Verdict = verdict, Reason = reason,
    };

    public static TopSample Sample(double seconds, params NetworkSample[] networks) =>
        new(Created.AddSeconds(seconds), TimeSpan.FromSeconds(seconds), networks);

    public static NetworkSample Net(NetworkInfo network, params EndpointInfo[] endpoints) => new(network, endpoints, [], []);

    public static NetworkSample WithFlows(NetworkInfo network, params FlowInfo[] flows) => new(network, [], [], flows);

    public static FlowInfo Flow(int guestPort, string destination, double age, long fromGuest, long toGuest, string? endpoint = "web", bool published = false) => new()
    {
        Protocol = "tcp", Endpoint = endpoint, Guest = $"10.10.0.2:{guestPort}", Destination = destination, State = "established",
        AgeSeconds = age, IdleSeconds = 0, BytesFromGuest = fromGuest, BytesToGuest = toGuest, Published = published,
    };
}
