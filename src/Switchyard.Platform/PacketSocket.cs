using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

namespace Switchyard.Platform;

/// <summary>
/// An AF_PACKET socket on one host interface that carries the frames of a bridged network's guests
/// (packet(7)). It receives only what a classic BPF filter lets through: frames to one of the guests'
/// MACs, broadcast and multicast, and never a frame from a guest's MAC (the LAN echoing a guest's own
/// frame back would move that MAC onto the uplink in the switch's table). Each guest MAC is also added
/// to the NIC's unicast filter (PACKET_MR_UNICAST), so the NIC accepts it without going promiscuous;
/// memberships go away with the socket. The kernel never loops a socket's own frames back to it.
/// With <see cref="VnetHeader"/> (PACKET_VNET_HDR) every frame read or written has a virtio_net_hdr in
/// front, so GRO super-frames arrive whole and TCP jobs from TAP guests go out unsegmented.
/// Read/Write/WaitReadable may be used from one reader and any writer thread concurrently.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PacketSocket : IFrameDevice, IDisposable
{
    public const int VnetHeaderLength = IFrameDevice.VnetHeaderLength;

    private readonly WakeableFd _fd;
    private readonly object _filterLock = new();
    private readonly HashSet<ulong> _members = [];

    private PacketSocket(WakeableFd fd, string name, int index, bool vnetHeader)
    {
        _fd = fd;
        InterfaceName = name;
        InterfaceIndex = index;
        VnetHeader = vnetHeader;
    }

    public string InterfaceName { get; }
    string IFrameDevice.Name => InterfaceName;
    public int InterfaceIndex { get; }
    public bool VnetHeader { get; }

    /// <summary>Opens the socket on <paramref name="interfaceName"/> with a filter that accepts no guest
    /// yet (broadcast and multicast only). The socket is made with protocol 0, which receives nothing,
    /// and bound to ETH_P_ALL only once the filter is on, so no unfiltered frame is ever queued.</summary>
    public static unsafe PacketSocket Open(string interfaceName, bool vnetHeader)
    {
        uint index = IfNameToIndex(interfaceName);
        if (index == 0) throw PlatformException.FromLastError($"if_nametoindex({interfaceName})");
        var socket = SafeFileDescriptorHandle.FromReturnValue(Socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (socket.IsInvalid) throw PlatformException.FromLastError("socket(AF_PACKET)");
        var fd = WakeableFd.Create(socket, $"AF_PACKET socket of {interfaceName}");
        try
        {
            var result = new PacketSocket(fd, interfaceName, (int)index, vnetHeader);
            if (vnetHeader)
            {
                int one = 1;
                if (SetSockOpt(socket, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(int)) < 0)
                    throw PlatformException.FromLastError($"setsockopt(PACKET_VNET_HDR) on {interfaceName}");
            }
            result.SetGuests([]);
            var address = new SockAddrLl { Family = AF_PACKET, Protocol = BinaryPrimitives.ReverseEndianness(ETH_P_ALL), IfIndex = (int)index };
            if (Bind(socket, &address, sizeof(SockAddrLl)) < 0) throw PlatformException.FromLastError($"bind(AF_PACKET) to {interfaceName}");
            return result;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Replaces the set of guest MACs (low 48 bits of each value): the filter is swapped in one
    /// setsockopt, and the NIC's unicast filter gains the new MACs and loses the old ones.</summary>
    public unsafe void SetGuests(ReadOnlySpan<ulong> macs)
    {
        lock (_filterLock)
        {
            var program = BuildFilter(macs);
            fixed (SockFilter* p = program)
            {
                var prog = new SockFprog { Length = (ushort)program.Length, Filter = p };
                if (SetSockOpt(_fd.Handle, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(SockFprog)) < 0)
                    throw PlatformException.FromLastError($"setsockopt(SO_ATTACH_FILTER) on {InterfaceName}");
            }
            var wanted = new HashSet<ulong>();
            foreach (var mac in macs) wanted.Add(mac);
            foreach (var mac in _members.Where(m => !wanted.Contains(m)).ToList())
            {
                Membership(PACKET_DROP_MEMBERSHIP, mac);
                _members.Remove(mac);
            }
            foreach (var mac in wanted)
                if (_members.Add(mac)) Membership(PACKET_ADD_MEMBERSHIP, mac);
        }
    }

    private unsafe void Membership(int option, ulong mac)
    {
        var mreq = new PacketMreq { IfIndex = InterfaceIndex, Type = PACKET_MR_UNICAST, ALen = 6 };
        for (int i = 0; i < 6; i++) mreq.Address[i] = (byte)(mac >> (40 - 8 * i));
        if (SetSockOpt(_fd.Handle, SOL_PACKET, option, &mreq, sizeof(PacketMreq)) < 0)
            throw PlatformException.FromLastError($"setsockopt({(option == PACKET_ADD_MEMBERSHIP ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP")}) on {InterfaceName}");
    }

    // Classic BPF opcodes (linux/filter.h).
    private const ushort LdW = 0x20, LdH = 0x28, LdB = 0x30, JEq = 0x15, JSet = 0x45, Ret = 0x06;
    private const uint Accept = 0x40000, Reject = 0;

    /// <summary>
    /// The filter, in two passes with only short forward jumps (a jump offset is 8 bits):
    /// for each guest, "source is this guest: drop"; then "group address: accept"; then for each guest,
    /// "destination is this guest: accept"; else drop. Five instructions per MAC and pass, so the
    /// kernel's limit of 4096 instructions allows some 400 guests per network.
    /// </summary>
    internal static SockFilter[] BuildFilter(ReadOnlySpan<ulong> macs)
    {
        var p = new List<SockFilter>(macs.Length * 10 + 4);
        foreach (var mac in macs) AddMatch(p, 6, mac, Reject);
        p.Add(new SockFilter { Code = LdB, K = 0 });
        p.Add(new SockFilter { Code = JSet, K = 0x01, Jt = 0, Jf = 1 });   // I/G bit: broadcast and multicast
        p.Add(new SockFilter { Code = Ret, K = Accept });
        foreach (var mac in macs) AddMatch(p, 0, mac, Accept);
        p.Add(new SockFilter { Code = Ret, K = Reject });
        return [.. p];

        static void AddMatch(List<SockFilter> p, uint offset, ulong mac, uint verdict)
        {
            p.Add(new SockFilter { Code = LdW, K = offset });
            p.Add(new SockFilter { Code = JEq, K = (uint)(mac >> 16), Jt = 0, Jf = 3 });
            p.Add(new SockFilter { Code = LdH, K = offset + 4 });
            p.Add(new SockFilter { Code = JEq, K = (uint)(mac & 0xFFFF), Jt = 0, Jf = 1 });
            p.Add(new SockFilter { Code = Ret, K = verdict });
        }
    }

    /// <summary>Reads one frame (with its virtio_net_hdr when <see cref="VnetHeader"/>). Returns its
    /// length, 0 when none is queued, or -1 when the interface went down or away (ENETDOWN, ENXIO):
    /// the socket stays, and frames flow again when the interface comes back up.</summary>
    public int Read(Span<byte> buffer)
    {
        var n = _fd.Read(buffer);
        if (n >= 0) return n;
        return -n switch
        {
            Interop.Errno.ENETDOWN or Interop.Errno.ENXIO or Interop.Errno.ENODEV => -1,
            var errno => throw new PlatformException($"read on AF_PACKET socket of {InterfaceName}", errno),
        };
    }

    /// <summary>Sends one frame (behind <paramref name="vnetHeader"/> when the socket has them). False
    /// when the kernel would not take it now or the interface is down: a drop for the caller.</summary>
    public bool Write(ReadOnlySpan<byte> vnetHeader, ReadOnlySpan<byte> frame)
    {
        switch (_fd.Write(VnetHeader ? vnetHeader : default, frame))
        {
            case 0: return true;
            case Interop.Errno.EAGAIN or Interop.Errno.ENOBUFS or Interop.Errno.ENETDOWN or Interop.Errno.ENXIO or Interop.Errno.ENODEV
                or Interop.Errno.EMSGSIZE or Interop.Errno.EINVAL:
                return false;
            case var errno: throw new PlatformException($"writev on AF_PACKET socket of {InterfaceName}", errno);
        }
    }

    /// <inheritdoc cref="WakeableFd.WaitReadable"/>
    public bool WaitReadable(int timeoutMs) => _fd.WaitReadable(timeoutMs);

    /// <inheritdoc cref="WakeableFd.Wake"/>
    public void Wake() => _fd.Wake();

    public void Dispose() => _fd.Dispose();
}
