using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Switchyard.BenchRelay;

/// <summary>Which framing the relay speaks on its socket side.</summary>
internal enum LinkKind
{
    Stream,
    Dgram,
    Udp,
}

/// <summary>A command line that cannot be run: the message says what to change.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The relay's command line, parsed and checked (<see cref="Parse"/>); <see cref="Help"/> is --help.</summary>
internal sealed record RelayOptions(
    string NetnsPath,
    string TapName,
    int Mtu,
    byte[] Mac,
    byte[]? Address,
    int PrefixLength,
    byte[]? Gateway,
    LinkKind Kind,
    string Target,
    string? Bind,
    int Batch)
{
    public const int DefaultBatch = 64;

    /// <summary>The most a UDP datagram carries: 65535 minus the IP header (20, IPv4) and the UDP header (8);
    /// IPv6's payload length excludes its header, so 65535 - 8 there.</summary>
    private const int MaxUdpPayload4 = 65507;
    private const int MaxUdpPayload6 = 65527;

    public const string Help = """
        switchyard-bench-relay: a VM's virtio-net without offloads, for the bench (bench/vm.sh).

        A TAP device in a network namespace (no vnet header: every frame at most MTU + 14 bytes, no TSO, no
        checksum offload) is relayed to and from one socket transport, batched: each wake-up of the TAP is drained
        into one send (writev of length-prefixed frames, or one sendmmsg), and each receive takes everything queued
        (a large read parsed in place, or one recvmmsg).

        Usage:
          switchyard-bench-relay --netns NS (--stream-connect PATH | --dgram-connect PATH | --udp-connect ADDR:PORT) [options]

        Socket side (exactly one):
          --stream-connect PATH  connect to a listening unix stream socket; QEMU's framing, a 4-byte big-endian
                                 length before each frame (passt's --socket, `yard endpoint attach --stream-listen`)
          --dgram-connect PATH   send to a unix datagram socket, one frame per datagram (`--dgram-listen`)
          --dgram-bind PATH      the relay's own datagram socket path (default: the --dgram-connect path + ".relay")
          --udp-connect [ADDR:]PORT
                                 send to a UDP address, one frame per datagram (`--udp-listen`); a port alone is
                                 127.0.0.1:PORT, IPv6 as [::1]:PORT
          --udp-bind ADDR:PORT   the relay's own UDP address (default: loopback of the same family, any port)

        TAP side:
          --netns NS             the namespace for the TAP: a name under /run/netns or a path (/proc/PID/ns/net)
          --tap NAME             the TAP's name (default vm0)
          --mtu N                the TAP's MTU (default 1500; 68..65521; UDP: at most 65493, the largest frame
                                 one IPv4 datagram carries)
          --mac MAC              the TAP's MAC (default: random, locally administered)
          --address A.B.C.D/N    give the TAP this IPv4 address (default: none; the link is brought up either way)
          --gateway A.B.C.D      and this default route (needs --address)

          --batch N              frames per batch each way (default 64, 1..1024)
          -h, --help             this text

        Output: one JSON line on stdout when the relay runs ({"event":"ready",...}) and one when it ends
        ({"event":"exit",...}: why, and frames/bytes/batches/dropped each way). It ends on SIGTERM or SIGINT
        (exit 0), when the peer closes (exit 0), or on an error (exit 1; the message on stderr). Bad options: exit 2.
        Needs root (CAP_NET_ADMIN, and setns into the namespace).
        """;

    public static RelayOptions Parse(IReadOnlyList<string> args)
    {
        string? netns = null, tap = "vm0", mac = null, address = null, gateway = null, bind = null;
        string? stream = null, dgram = null, udp = null, dgramBind = null, udpBind = null;
        var mtu = 1500;
        var batch = DefaultBatch;

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value");
            switch (name)
            {
                case "--netns": netns = Value(); break;
                case "--tap": tap = Value(); break;
                case "--mtu": mtu = Int(name, Value(), 68, 65521); break;
                case "--mac": mac = Value(); break;
                case "--address": address = Value(); break;
                case "--gateway": gateway = Value(); break;
                case "--stream-connect": stream = Value(); break;
                case "--dgram-connect": dgram = Value(); break;
                case "--dgram-bind": dgramBind = Value(); break;
                case "--udp-connect": udp = Value(); break;
                case "--udp-bind": udpBind = Value(); break;
                case "--batch": batch = Int(name, Value(), 1, 1024); break;
                default: throw new UsageException($"unknown option '{name}' (see --help)");
            }
        }

        if (netns is null)
        {
            throw new UsageException("--netns is required: the namespace the TAP device goes into");
        }
        var netnsPath = netns.Contains('/', StringComparison.Ordinal) ? netns : $"/run/netns/{netns}";
        if (!File.Exists(netnsPath))
        {
            throw new UsageException($"--netns {netns}: {netnsPath} does not exist (create it with `ip netns add`)");
        }

        var chosen = new[] { stream, dgram, udp }.Count(s => s is not null);
        if (chosen != 1)
        {
            throw new UsageException("give exactly one of --stream-connect, --dgram-connect and --udp-connect");
        }
        if (dgramBind is not null && dgram is null)
        {
            throw new UsageException("--dgram-bind goes with --dgram-connect");
        }
        if (udpBind is not null && udp is null)
        {
            throw new UsageException("--udp-bind goes with --udp-connect");
        }

        LinkKind kind;
        string target;
        if (stream is not null)
        {
            (kind, target) = (LinkKind.Stream, stream);
        }
        else if (dgram is not null)
        {
            (kind, target, bind) = (LinkKind.Dgram, dgram, dgramBind ?? dgram + ".relay");
        }
        else
        {
            var peer = Endpoint("--udp-connect", udp!);
            var max = (peer.AddressFamily == AddressFamily.InterNetwork ? MaxUdpPayload4 : MaxUdpPayload6) - 14;
            if (mtu > max)
            {
                throw new UsageException($"--mtu {mtu}: a UDP datagram to {peer} carries at most {max + 14} bytes, so the MTU can be at most {max}");
            }
            var local = udpBind is null
                ? new IPEndPoint(peer.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0)
                : Endpoint("--udp-bind", udpBind);
            if (local.AddressFamily != peer.AddressFamily)
            {
                throw new UsageException($"--udp-bind {local} and --udp-connect {peer} must be of one address family");
            }
            (kind, target, bind) = (LinkKind.Udp, peer.ToString(), local.ToString());
        }

        byte[]? addressBytes = null, gatewayBytes = null;
        var prefix = 0;
        if (address is not null)
        {
            var slash = address.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !IPAddress.TryParse(address[..slash], out var ip) || ip.AddressFamily != AddressFamily.InterNetwork
                || !int.TryParse(address[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix is < 1 or > 32)
            {
                throw new UsageException($"--address {address}: expected an IPv4 address and prefix, e.g. 10.0.0.2/24");
            }
            addressBytes = ip.GetAddressBytes();
        }
        if (gateway is not null)
        {
            if (addressBytes is null)
            {
                throw new UsageException("--gateway needs --address (a route needs the address's subnet)");
            }
            if (!IPAddress.TryParse(gateway, out var gw) || gw.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new UsageException($"--gateway {gateway}: expected an IPv4 address");
            }
            gatewayBytes = gw.GetAddressBytes();
        }

        return new RelayOptions(netnsPath, tap, mtu, ParseMac(mac), addressBytes, prefix, gatewayBytes, kind, target, bind, batch);
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new UsageException($"{name} {value}: expected a whole number from {min} to {max}");

    /// <summary>[ADDR:]PORT: a port alone is 127.0.0.1:PORT, as `yard endpoint attach --udp-listen` takes it.</summary>
    private static IPEndPoint Endpoint(string name, string value)
    {
        if (ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port > 0)
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }
        return IPEndPoint.TryParse(value, out var ep) && value.Contains(':', StringComparison.Ordinal)
            ? ep
            : throw new UsageException($"{name} {value}: expected [ADDR:]PORT, e.g. 127.0.0.1:5555 or [::1]:5555");
    }

    private static byte[] ParseMac(string? value)
    {
        if (value is null)
        {
            var random = RandomNumberGenerator.GetBytes(6);
            random[0] = (byte)((random[0] & 0xfc) | 0x02); // locally administered, unicast (IEEE 802, section 8.2)
            return random;
        }
        var parts = value.Split(':');
        var mac = new byte[6];
        if (parts.Length != 6 || parts.Any(p => p.Length != 2)
            || !parts.Select((p, i) => byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out mac[i])).All(ok => ok))
        {
            throw new UsageException($"--mac {value}: expected six hex pairs, e.g. 02:00:00:00:00:02");
        }
        if ((mac[0] & 1) != 0 || mac.All(b => b == 0))
        {
            throw new UsageException($"--mac {value}: must be a non-zero unicast address");
        }
        return mac;
    }
}
